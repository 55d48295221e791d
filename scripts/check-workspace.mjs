// `pnpm install-test` (the README's first command) installs only the root project and the
// workspace packages the root depends on: pnpm runs `install` recursively in a workspace,
// but not `install-test`. So every workspace package must be a devDependency of the root,
// or a fresh clone's `install-test` leaves its dependencies out. This check says which is
// missing.  node scripts/check-workspace.mjs
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = JSON.parse(readFileSync('package.json', 'utf8'));
const yaml = readFileSync('pnpm-workspace.yaml', 'utf8');
const block = yaml.match(/^packages:\n((?:[ \t]+-[^\n]*\n?)+)/m);
if (!block) throw new Error('pnpm-workspace.yaml: no packages: list found');
const patterns = [...block[1].matchAll(/-\s*['"]?([^'"\n]+?)['"]?\s*$/gm)].map((m) => m[1]);
const dirs = patterns.flatMap((p) => {
  if (p.endsWith('/*')) {
    const parent = p.slice(0, -2);
    return existsSync(parent) ? readdirSync(parent).map((d) => join(parent, d)) : [];
  }
  if (p.includes('*')) throw new Error(`pnpm-workspace.yaml: unsupported pattern ${p}`);
  return [p];
});
const deps = { ...root.dependencies, ...root.devDependencies };
const missing = [];
for (const dir of dirs) {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) continue;
  const { name } = JSON.parse(readFileSync(file, 'utf8'));
  if (deps[name] !== 'workspace:*') missing.push(`${name} (${dir})`);
}
if (missing.length > 0) {
  console.error(
    `the root package.json must list every workspace package as "workspace:*" in devDependencies, ` +
      `so that \`pnpm install-test\` installs its dependencies; missing: ${missing.join(', ')}`,
  );
  process.exit(1);
}
console.log(`every workspace package (${dirs.length}) is a root devDependency`);
