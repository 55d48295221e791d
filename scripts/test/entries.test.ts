/**
 * Every package's main entry is browser-safe: following its runtime imports (type-only ones
 * are erased) through the workspace never reaches a Node built-in or gpu.js. The node-only
 * and gpu.js code is reachable only from the `/node` and `/gpujs` entries and from
 * `@chainrule/ddpg-node`. (The outside
 * test proves the same by bundling for the browser and running in Chromium; this is the
 * fast check that names the import at fault.)
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PACKAGES = ['tensor', 'autograd', 'nn', 'ddpg'];
/** The Node side's dependencies, which the RL core (@chainrule/ddpg) must not pull in. */
const CLI_ONLY = /^(vega|vega-lite|@stdlib\/.*|commander|cli-progress|yaml)$/;
const NODE_ONLY = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

function exportsOf(pkg: string): Record<string, string> {
  return JSON.parse(readFileSync(join(ROOT, 'packages', pkg, 'package.json'), 'utf8')).exports;
}

/** The workspace file a specifier names, or null for a third-party package. */
function resolveSpecifier(spec: string, from: string): string | null {
  if (spec.startsWith('.')) return resolve(dirname(from), spec);
  const m = spec.match(/^@chainrule\/([\w-]+)(\/.*)?$/);
  if (!m) return null;
  const target = exportsOf(m[1]!)[`.${m[2] ?? ''}`];
  if (!target) throw new Error(`${from}: ${spec} is not an export of @chainrule/${m[1]}`);
  return join(ROOT, 'packages', m[1]!, target);
}

const RUNTIME_IMPORT =
  /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** Every import chain from `entry` that ends in a Node built-in or gpu.js. */
function forbiddenImports(
  entry: string,
  forbidden = (spec: string) => NODE_ONLY.has(spec) || spec === 'gpu.js',
): string[] {
  const seen = new Set<string>();
  const found: string[] = [];
  const walk = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(RUNTIME_IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      const here = [...chain, `${file.slice(ROOT.length + 1)} → ${spec}`];
      if (forbidden(spec)) found.push(here.join('\n  '));
      const next = resolveSpecifier(spec, file);
      if (next) walk(next, here);
    }
  };
  walk(entry, []);
  return found;
}

describe('entry points', () => {
  for (const pkg of PACKAGES) {
    it(`@chainrule/${pkg}: the main entry reaches no Node built-in and not gpu.js`, () => {
      expect(forbiddenImports(join(ROOT, 'packages', pkg, exportsOf(pkg)['.']!))).toEqual([]);
    });
  }

  it('the node-only code is reachable from the /node and /gpujs entries (the walk sees imports)', () => {
    expect(forbiddenImports(join(ROOT, 'packages/nn', exportsOf('nn')['./node']!)).join('\n')).toMatch(
      /atomic\.ts → node:fs/,
    );
    expect(
      forbiddenImports(join(ROOT, 'packages/ddpg-node', exportsOf('ddpg-node')['.']!)).length,
    ).toBeGreaterThan(0);
    expect(
      forbiddenImports(join(ROOT, 'packages/tensor', exportsOf('tensor')['./gpujs']!)).join('\n'),
    ).toMatch(/gpujs\/backend\.ts → node:module/);
  });

  it('@chainrule/ddpg reaches none of the CLI-only dependencies (vega, @stdlib, commander, cli-progress, yaml)', () => {
    const cliOnly = (spec: string) => CLI_ONLY.test(spec);
    expect(forbiddenImports(join(ROOT, 'packages/ddpg', exportsOf('ddpg')['.']!), cliOnly)).toEqual([]);
    // The walk sees them where they are imported.
    expect(
      forbiddenImports(join(ROOT, 'packages/ddpg-node', exportsOf('ddpg-node')['.']!), cliOnly).join('\n'),
    ).toMatch(/plots\.ts → vega/);
  });

  it('the CLI registers the gpujs backend, so --backend gpujs works', async () => {
    const T = await import('@chainrule/tensor');
    expect(T.listBackends()).not.toContain('gpujs');
    await import('../../packages/ddpg-node/src/cli/main.ts');
    expect(T.listBackends()).toContain('gpujs');
  });
});
