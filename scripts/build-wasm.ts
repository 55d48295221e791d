/**
 * Compile the hand-written WebAssembly kernels of the `wasm` backend.
 *
 *   npx tsx scripts/build-wasm.ts          # write packages/tensor/src/backends/wasm/kernels.wasm.ts
 *   npx tsx scripts/build-wasm.ts --check  # exit 1 if that file is stale (CI)
 *
 * Sources: packages/tensor/src/backends/wasm/kernels/*.wat, in file-name order. Each file
 * holds module fields; this script wraps them in one module that imports its memory
 * (`env.memory`, grown by the TypeScript allocator) and expands two comment macros:
 *
 *   ;; @define NAME(P | Q)      the following lines, up to `;; @end`, are a template
 *   ;; @use NAME(arg1 | arg2)   an instance: {{P}} -> arg1, {{Q}} -> arg2
 *
 * so that, for example, every binary op gets its own specialised loop from one template.
 * wabt (with SIMD and bulk memory) compiles the text; the output embeds the binary as
 * base64 plus a sha256 of the sources, and `--check` rebuilds and compares the whole file.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import wabtInit from 'wabt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wasmDir = join(root, 'packages/tensor/src/backends/wasm');
const srcDir = join(wasmDir, 'kernels');
const outFile = join(wasmDir, 'kernels.wasm.ts');

interface Source {
  name: string;
  text: string;
}

export function readSources(): Source[] {
  return readdirSync(srcDir)
    .filter((f) => f.endsWith('.wat'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(srcDir, name), 'utf8') }));
}

/** sha256 over every source's name and text. */
export function sourceHash(sources: readonly Source[]): string {
  const h = createHash('sha256');
  for (const s of sources) h.update(`${s.name}\n${s.text}\n`);
  return h.digest('hex');
}

function splitArgs(line: string, where: string): { name: string; args: string[] } {
  const m = /^\s*;;\s*@(?:define|use)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*$/.exec(line);
  if (!m) throw new Error(`${where}: malformed macro line: ${line.trim()}`);
  return { name: m[1]!, args: m[2]!.split('|').map((a) => a.trim()) };
}

/** Expand `@define` / `@use` macros; templates are shared across files (define before use). */
export function expandMacros(sources: readonly Source[]): string {
  const templates = new Map<string, { params: string[]; body: string }>();
  const out: string[] = [];
  for (const src of sources) {
    out.push(`;; ---- ${src.name}`);
    const lines = src.text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const where = `${src.name}:${i + 1}`;
      if (/^\s*;;\s*@define\b/.test(line)) {
        const { name, args: params } = splitArgs(line, where);
        const body: string[] = [];
        for (i++; i < lines.length && !/^\s*;;\s*@end\b/.test(lines[i]!); i++) body.push(lines[i]!);
        if (i >= lines.length) throw new Error(`${where}: @define ${name} has no @end`);
        templates.set(name, { params, body: body.join('\n') });
      } else if (/^\s*;;\s*@use\b/.test(line)) {
        const { name, args } = splitArgs(line, where);
        const t = templates.get(name);
        if (!t) throw new Error(`${where}: @use of unknown template ${name}`);
        if (args.length !== t.params.length) {
          throw new Error(`${where}: ${name} takes ${t.params.length} arguments, got ${args.length}`);
        }
        let body = t.body;
        t.params.forEach((p, k) => {
          body = body.split(`{{${p}}}`).join(args[k]!);
        });
        const left = /\{\{[^}]*\}\}/.exec(body);
        if (left) throw new Error(`${where}: ${name} leaves ${left[0]} unexpanded`);
        out.push(`;; @use ${name}(${args[0]})`, body);
      } else if (/^\s*;;\s*@end\b/.test(line)) {
        throw new Error(`${where}: @end without @define`);
      } else out.push(line);
    }
  }
  return `(module\n(import "env" "memory" (memory 1))\n${out.join('\n')}\n)\n`;
}

/** Compile the sources to a wasm binary with wabt; throws with wabt's message on errors. */
export async function compile(sources: readonly Source[]): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const text = expandMacros(sources);
  let mod: ReturnType<typeof wabt.parseWat> | undefined;
  try {
    mod = wabt.parseWat('kernels.wat', text, { simd: true, bulk_memory: true, sat_float_to_int: true });
    mod.resolveNames();
    mod.validate();
    const { buffer } = mod.toBinary({ log: false, write_debug_names: true });
    // The engine must accept it too (catches features wabt allows but V8 does not).
    const engine = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } })
      .WebAssembly;
    new engine.Module(buffer);
    return buffer;
  } catch (e) {
    if (process.env.WASM_DUMP) writeFileSync(process.env.WASM_DUMP, text);
    throw new Error(`compiling the wasm kernels failed (set WASM_DUMP=file to see the expanded text):\n${e}`);
  } finally {
    mod?.destroy();
  }
}

/** The generated TypeScript module (formatted as biome formats it). */
export function render(hash: string, wasm: Uint8Array): string {
  const b64 = Buffer.from(wasm).toString('base64');
  return `// Generated by scripts/build-wasm.ts from kernels/*.wat. Do not edit; run \`pnpm build:wasm\`.

/** sha256 of the WAT sources this binary was built from. */
export const KERNELS_WAT_SHA256 = '${hash}';

/** The compiled kernels module (${wasm.length} bytes), base64. */
export const KERNELS_WASM_BASE64 =
  '${b64}';
`;
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const sources = readSources();
  const hash = sourceHash(sources);
  const wasm = await compile(sources);
  const text = render(hash, wasm);
  const rel = relative(root, outFile);
  if (check) {
    let current = '';
    try {
      current = readFileSync(outFile, 'utf8');
    } catch {
      // missing: stale
    }
    if (current !== text) {
      const stored = /KERNELS_WAT_SHA256 = '([0-9a-f]+)'/.exec(current)?.[1];
      const why =
        stored === undefined
          ? 'it is missing or unreadable'
          : stored !== hash
            ? `the WAT sources changed (sha256 ${stored.slice(0, 12)}… in the file, ${hash.slice(0, 12)}… now)`
            : 'its contents differ from a fresh build (edited by hand, or a different wabt?)';
      console.error(`${rel} is stale: ${why}. Run \`pnpm build:wasm\` and commit the result.`);
      process.exit(1);
    }
    console.log(`${rel} is up to date (${wasm.length} bytes, sha256 ${hash.slice(0, 12)}…)`);
    return;
  }
  writeFileSync(outFile, text);
  console.log(`wrote ${rel} (${wasm.length} bytes of wasm, sha256 ${hash.slice(0, 12)}…)`);
}

// Run only as a script (tests import sourceHash/readSources to check the file is fresh).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
