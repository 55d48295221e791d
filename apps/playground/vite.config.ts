import { defineConfig, type Plugin } from 'vite';

/**
 * Node built-ins that today's main entries of the packages import at the top level
 * (@chainrule/nn's file helpers, @chainrule/ddpg's trainer, the gpu.js backend's
 * createRequire). The page never calls them; the stubs only let the modules load. Once the
 * main entries are browser-safe (node-only code under `/node` subpaths), this list can go.
 */
const NODE_STUBS: Record<string, string[]> = {
  'node:fs': [
    'existsSync',
    'mkdirSync',
    'readFileSync',
    'closeSync',
    'fsyncSync',
    'openSync',
    'renameSync',
    'rmSync',
    'writeSync',
  ],
  'node:fs/promises': ['open', 'rename', 'rm', 'readFile'],
  'node:path': ['join', 'dirname', 'resolve'],
  'node:module': ['createRequire'],
  'node:url': ['fileURLToPath'],
};

function stubNodeBuiltins(): Plugin {
  const prefix = '\0node-stub:';
  return {
    name: 'chainrule-stub-node-builtins',
    enforce: 'pre',
    resolveId(id) {
      return id in NODE_STUBS ? prefix + id : null;
    },
    load(id) {
      if (!id.startsWith(prefix)) return null;
      const mod = id.slice(prefix.length);
      return NODE_STUBS[mod]!.map(
        (name) =>
          `export function ${name}() { throw new Error(${JSON.stringify(`${mod}.${name} is not available in the browser`)}); }`,
      ).join('\n');
    },
  };
}

/**
 * Cross-origin isolation: with these two headers the page gets SharedArrayBuffer, so the
 * training worker's wasm kernels can run on every core (see README.md for static hosts;
 * public/_headers carries them to Netlify and Cloudflare Pages).
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  // Relative asset paths, so the built site works from any folder (or a file server subpath).
  base: './',
  plugins: [stubNodeBuiltins()],
  // @chainrule/tensor reads CHAINRULE_BACKEND / CHAINRULE_DEBUG from process.env, unguarded.
  define: { 'process.env': '{}' },
  worker: { format: 'es', plugins: () => [stubNodeBuiltins()] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
  server: { port: 5173, headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
});
