import { defineConfig } from 'vite';

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
  // @chainrule/tensor reads CHAINRULE_BACKEND / CHAINRULE_DEBUG from process.env, unguarded.
  define: { 'process.env': '{}' },
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
  server: { port: 5173, headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
});
