#!/usr/bin/env bash
# pnpm test:outside: the packages as a user outside this workspace gets them.
#  1. build (tsc -b: ESM + .d.ts in packages/*/dist), `pnpm pack` each package, and
#     `npm publish --dry-run` each tarball (nothing is published);
#  2. a fresh project in a temp directory installs the tarballs with plain npm;
#  3. plain `node` runs scripts/outside/node.mjs (no tsx, no TypeScript) and each package
#     README's js example; tsc checks the published .d.ts from a TypeScript file; the CLI runs;
#  3b. @chainrule/ddpg alone in a second project: none of the CLI's dependencies, node_modules
#     under 15 MB, plain node runs a short training loop, Vite builds it;
#  4. esbuild bundles scripts/outside/browser.mjs and headless Chromium runs it on the wasm
#     backend; it must print the same lines as Node.
# KEEP_OUTSIDE=1 keeps the temp directory for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PNPM=(npx -y pnpm@10.34.9)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chainrule-outside-XXXXXX")
if [ "${KEEP_OUTSIDE:-}" = 1 ]; then echo "outside test directory: $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
PACKAGES=(tensor autograd nn ddpg ddpg-node)

echo '::: outside: build and pack'
"${PNPM[@]}" build
mkdir -p "$WORK/tarballs"
for p in "${PACKAGES[@]}"; do
  (cd "packages/$p" && "${PNPM[@]}" pack --pack-destination "$WORK/tarballs" >/dev/null)
done
ls -l "$WORK/tarballs"

echo '::: outside: the packed package.json files point at built files only'
for t in "$WORK"/tarballs/*.tgz; do
  tar -xzf "$t" -C "$WORK" package/package.json
  node -e '
    const fs = require("node:fs");
    const [file, tgz, list] = process.argv.slice(1);
    const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
    const files = new Set(list.trim().split("\n").map((f) => f.replace(/^package\//, "")));
    const problems = [];
    if (pkg.private) problems.push("private is set");
    if (pkg.license !== "MIT") problems.push(`license is ${pkg.license}`);
    for (const f of ["LICENSE", "README.md"]) if (!files.has(f)) problems.push(`${f} is missing`);
    if (JSON.stringify(pkg).includes("workspace:")) problems.push("a workspace: range is left");
    const targets = [];
    for (const [entry, conds] of Object.entries(pkg.exports ?? {})) {
      if (typeof conds !== "object" || !conds.types || !conds.default) problems.push(`exports["${entry}"] lacks types/default`);
      else targets.push(conds.types, conds.default);
    }
    for (const bin of Object.values(pkg.bin ?? {})) targets.push(bin);
    for (const t of targets) {
      if (!/^\.\/dist\/.*\.(js|d\.ts)$/.test(t)) problems.push(`${t} is not a built file`);
      else if (!files.has(t.slice(2))) problems.push(`${t} is not in the tarball`);
    }
    if (problems.length) { console.error(`${tgz}: ${problems.join("; ")}`); process.exit(1); }
    console.log(`${pkg.name}@${pkg.version}: exports ${Object.keys(pkg.exports).join(", ")}; ${files.size} files`);
  ' "$WORK/package/package.json" "$(basename "$t")" "$(tar -tzf "$t")"
  rm -rf "$WORK/package"
done

echo '::: outside: npm publish --dry-run'
for t in "$WORK"/tarballs/*.tgz; do
  if ! npm publish --dry-run --access public "$t" >"$WORK/publish.log" 2>&1; then
    cat "$WORK/publish.log" >&2
    echo "npm publish --dry-run failed for $(basename "$t")" >&2
    exit 1
  fi
  grep -E '^npm (notice (name|version|package size|total files):|warn|error)' "$WORK/publish.log" | tr '\n' ' '
  echo
done

echo '::: outside: @chainrule/ddpg alone: size, no CLI dependencies, node and a Vite build'
C="$WORK/core"
mkdir -p "$C"
cp scripts/outside/core/main.js scripts/outside/core/index.html "$C/"
cat >"$C/package.json" <<'JSON'
{ "name": "chainrule-core-outside-test", "private": true, "type": "module" }
JSON
(cd "$C" && npm install --no-audit --no-fund --loglevel=error "$WORK"/tarballs/chainrule-{tensor,autograd,nn,ddpg}-[0-9]*.tgz)
for dep in vega vega-lite @stdlib commander cli-progress yaml; do
  if [ -e "$C/node_modules/$dep" ]; then echo "@chainrule/ddpg alone installed $dep" >&2; exit 1; fi
done
CORE_KB=$(du -sk "$C/node_modules" | cut -f1)
CORE_BYTES=$(du -sb "$C/node_modules" | cut -f1)
echo "@chainrule/ddpg with its dependencies: $((CORE_BYTES / 1000)) kB of files, $CORE_KB KiB on disk, $(ls "$C/node_modules" | wc -l) top-level entries"
if [ "$CORE_KB" -gt 15000 ]; then echo "node_modules of @chainrule/ddpg alone is $CORE_KB KiB on disk, over the 15 MB bound" >&2; exit 1; fi
(cd "$C" && node main.js)
(cd "$C" && "$ROOT/apps/playground/node_modules/.bin/vite" build --logLevel warn >/dev/null)
ls "$C"/dist/assets/*.js >/dev/null
echo "a Vite build of it: $(du -k "$C"/dist/assets/*.js | cut -f1 | paste -sd+ | bc) KiB of js"

echo '::: outside: a fresh project installs the tarballs with npm'
P="$WORK/project"
mkdir -p "$P"
cp scripts/outside/smoke.mjs scripts/outside/node.mjs scripts/outside/browser.mjs "$P/"
cat >"$P/package.json" <<'JSON'
{ "name": "chainrule-outside-test", "private": true, "type": "module" }
JSON
(cd "$P" && npm install --no-audit --no-fund --loglevel=error "$WORK"/tarballs/*.tgz fast-check@^4.10.2)

echo '::: outside: node'
(cd "$P" && node node.mjs | tee node-output.txt)

echo "::: outside: each package README's js example, in node"
for p in "${PACKAGES[@]}"; do
  node -e '
    const md = require("node:fs").readFileSync(process.argv[1], "utf8");
    const blocks = [...md.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
    if (blocks.length !== 1) { console.error(`${process.argv[1]}: expected one js block, found ${blocks.length}`); process.exit(1); }
    process.stdout.write(blocks[0]);
  ' "packages/$p/README.md" >"$P/readme-$p.mjs"
  echo "packages/$p/README.md:"
  (cd "$P" && node "readme-$p.mjs")
done

echo '::: outside: the published types, from a TypeScript file (tsc, module nodenext)'
cp scripts/outside/types.ts "$P/types.ts"
"$ROOT/node_modules/.bin/tsc" --noEmit --strict --skipLibCheck --module nodenext --moduleResolution nodenext \
  --target es2022 --types node --typeRoots "$ROOT/node_modules/@types" "$P/types.ts"
echo 'types.ts type-checks against the published .d.ts'

echo '::: outside: the chainrule-ddpg CLI'
(cd "$P" && npx --no-install chainrule-ddpg --help >"$WORK/help.txt")
head -3 "$WORK/help.txt"
# A short run must still learn (train rejects a config whose updates would never start).
SHORT=(--steps 300 --start-steps 50 --learning-starts 100 --batch-size 32 --no-progress)
(cd "$P" && npx --no-install chainrule-ddpg --env Pendulum-v1 "${SHORT[@]}" --out runs/cli >/dev/null)
test -f "$P/runs/cli/summary.json" || { echo 'the 300-step CLI run wrote no runs/cli/summary.json' >&2; exit 1; }
echo 'a 300-step run wrote runs/cli/summary.json'
if (cd "$P" && npx --no-install chainrule-ddpg --backend gpujs "${SHORT[@]}" --out runs/gpujs) 2>"$WORK/gpujs.err"; then
  echo 'expected --backend gpujs to fail without gpu.js installed' >&2
  exit 1
fi
if ! grep -q 'npm install gpu.js' "$WORK/gpujs.err"; then
  echo 'expected --backend gpujs without gpu.js to say how to install it; it said:' >&2
  cat "$WORK/gpujs.err" >&2
  exit 1
fi
echo "without gpu.js, --backend gpujs says: $(grep -o 'could not load gpu.js[^:]*' "$WORK/gpujs.err" | head -1)"

echo '::: outside: browser bundle in headless Chromium (wasm backend)'
node scripts/outside/chromium.mjs "$P" "$P/node-output.txt"
echo '::: outside test passed'
