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
 *
 * One set of sources gives four binaries: two SIMD paths times two kinds of memory.
 *
 *   - path `fma` keeps every `(f32x4.relaxed_madd X Y Z)` (relaxed SIMD: a fused
 *     multiply-add where the hardware has one); path `simd` rewrites it to
 *     `(f32x4.add (f32x4.mul X Y) Z)`, plain SIMD that every engine with SIMD runs.
 *   - `shared` imports a shared memory (for the worker pool, threads.ts); `local` an
 *     ordinary one, for engines without SharedArrayBuffer.
 *
 * wabt (with SIMD, relaxed SIMD, threads and bulk memory) compiles the text; the output
 * embeds the binaries as base64 plus a sha256 of the sources, and `--check` rebuilds and
 * compares the whole file.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import wabtInit from 'wabt';

// Node 20 validates relaxed SIMD only behind this flag (newer V8 has it on by default).
setFlagsFromString('--experimental-wasm-relaxed-simd');

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

/** The SIMD path of a binary: fused multiply-add (relaxed SIMD) or plain SIMD. */
export type SimdPath = 'simd' | 'fma';
/** The memory a binary imports: shared (threads) or local. */
export type MemoryKind = 'shared' | 'local';

/** The largest shared memory (pages of 64 KiB): 4 GiB, all that 32-bit wasm addresses. */
export const SHARED_MAX_PAGES = 65536;

/** Index just past the S-expression or token that starts at or after `i`. */
function skipExpr(text: string, i: number, where: string): number {
  while (/\s/.test(text[i] ?? '')) i++;
  if (text[i] === '(') {
    let depth = 0;
    for (; i < text.length; i++) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')' && --depth === 0) return i + 1;
    }
    throw new Error(`${where}: unbalanced parentheses`);
  }
  const start = i;
  while (i < text.length && !/[\s()]/.test(text[i]!)) i++;
  if (i === start) throw new Error(`${where}: missing operand`);
  return i;
}

/**
 * The plain-SIMD form of `text`: each `(f32x4.relaxed_madd X Y Z)` becomes
 * `(f32x4.add (f32x4.mul X Y) Z)`, innermost first. Rounds twice where the fused form may
 * round once; otherwise the same operations in the same order.
 */
export function unfuse(text: string): string {
  const op = '(f32x4.relaxed_madd';
  const at = text.indexOf(op);
  if (at < 0) return text;
  const args: string[] = [];
  let i = at + op.length;
  for (let a = 0; a < 3; a++) {
    const end = skipExpr(text, i, 'relaxed_madd');
    args.push(unfuse(text.slice(i, end).trim()));
    i = end;
  }
  const close = text.indexOf(')', i);
  if (close < 0 || text.slice(i, close).trim() !== '') throw new Error('relaxed_madd takes three operands');
  return `${text.slice(0, at)}(f32x4.add (f32x4.mul ${args[0]} ${args[1]}) ${args[2]})${unfuse(text.slice(close + 1))}`;
}

/** Expand `@define` / `@use` macros; templates are shared across files (define before use). */
export function expandMacros(
  sources: readonly Source[],
  path: SimdPath = 'fma',
  memory: MemoryKind = 'local',
): string {
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
  const mem = memory === 'shared' ? `(memory 1 ${SHARED_MAX_PAGES} shared)` : '(memory 1)';
  const body = out.join('\n');
  return `(module\n(import "env" "memory" ${mem})\n${path === 'fma' ? body : unfuse(body)}\n)\n`;
}

/** The wasm features the sources use (validate needs them as well as the parser). */
const FEATURES = { simd: true, relaxed_simd: true, threads: true, bulk_memory: true, sat_float_to_int: true };

/** Compile the sources to a wasm binary with wabt; throws with wabt's message on errors. */
export async function compile(
  sources: readonly Source[],
  path: SimdPath = 'fma',
  memory: MemoryKind = 'local',
): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const text = expandMacros(sources, path, memory);
  let mod: ReturnType<typeof wabt.parseWat> | undefined;
  try {
    mod = wabt.parseWat('kernels.wat', text, FEATURES);
    mod.resolveNames();
    // wabt.js's validate takes the features too (its .d.ts omits the parameter).
    (mod as unknown as { validate(features: typeof FEATURES): void }).validate(FEATURES);
    const { buffer } = mod.toBinary({ log: false, write_debug_names: true });
    // The engine must accept it too (catches features wabt allows but V8 does not).
    const engine = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } })
      .WebAssembly;
    new engine.Module(buffer);
    return buffer;
  } catch (e) {
    if (process.env.WASM_DUMP) writeFileSync(process.env.WASM_DUMP, text);
    throw new Error(
      `compiling the wasm kernels (${path}, ${memory} memory) failed (set WASM_DUMP=file to see the expanded text):\n${e}`,
    );
  } finally {
    mod?.destroy();
  }
}

/** The four binaries, by path and memory kind. */
export type Binaries = Record<SimdPath, Record<MemoryKind, Uint8Array>>;

export async function compileAll(sources: readonly Source[]): Promise<Binaries> {
  return {
    simd: {
      local: await compile(sources, 'simd', 'local'),
      shared: await compile(sources, 'simd', 'shared'),
    },
    fma: { local: await compile(sources, 'fma', 'local'), shared: await compile(sources, 'fma', 'shared') },
  };
}

/** The generated TypeScript module (formatted as biome formats it). */
export function render(hash: string, bins: Binaries): string {
  const entry = (path: SimdPath, memory: MemoryKind): string => {
    const wasm = bins[path][memory];
    return `  /** ${path}, ${memory} memory (${wasm.length} bytes). */
  ${path}_${memory}:
    '${Buffer.from(wasm).toString('base64')}',`;
  };
  return `// Generated by scripts/build-wasm.ts from kernels/*.wat. Do not edit; run \`pnpm build:wasm\`.

/** sha256 of the WAT sources these binaries were built from. */
export const KERNELS_WAT_SHA256 = '${hash}';

/** The largest size of the shared memory the \`shared\` binaries import, in 64 KiB pages. */
export const SHARED_MAX_PAGES = ${SHARED_MAX_PAGES};

/**
 * The compiled kernels, base64, by SIMD path (\`fma\`: relaxed SIMD fused multiply-add;
 * \`simd\`: plain SIMD) and memory (\`shared\`: for threads; \`local\`: without).
 */
export const KERNELS_WASM_BASE64 = {
${entry('simd', 'local')}
${entry('simd', 'shared')}
${entry('fma', 'local')}
${entry('fma', 'shared')}
} as const;
`;
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const sources = readSources();
  const hash = sourceHash(sources);
  const bins = await compileAll(sources);
  const text = render(hash, bins);
  const sizes = `${bins.simd.local.length} / ${bins.fma.local.length} bytes (simd / fma)`;
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
    console.log(`${rel} is up to date (${sizes}, sha256 ${hash.slice(0, 12)}…)`);
    return;
  }
  writeFileSync(outFile, text);
  console.log(`wrote ${rel} (${sizes} of wasm, sha256 ${hash.slice(0, 12)}…)`);
}

// Run only as a script (tests import sourceHash/readSources to check the file is fresh).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
