/**
 * The code blocks of a Markdown document, and what each one promises.
 *
 * A TypeScript block carries a marker in an HTML comment right above its fence (blank lines
 * allowed). The comment is invisible on GitHub and says how the block is checked:
 *
 * | marker                          | kind      | how `pnpm docs:check` checks it                              |
 * |---------------------------------|-----------|--------------------------------------------------------------|
 * | `<!-- run -->`                  | `run`     | runs as its own script, in a fresh process                   |
 * | `<!-- run: continued -->`       | `run`     | runs in the same script as the `run` block before it         |
 * | `<!-- quote: FILE -->`          | `quote`   | each code line still occurs in FILE                          |
 * | `<!-- output: SCRIPT [ARGS] -->`| `output`  | (text/mermaid) occurs in what `tsx SCRIPT ARGS` prints        |
 * | (none), a text block right after a run block | `output` | equals what that block printed             |
 * | (none), `bash`/`sh`             | `shell`   | each `pnpm SCRIPT` exists; its `--flags` appear in `--help`   |
 * | (none), other languages         | `prose`   | formulas, figures, file trees: nothing to run                |
 *
 * Every `run` block of a script sees the names `T`, `A` and `nn` (the packages' namespaces)
 * and its own imports. A TypeScript block with no marker is an error: say what it is.
 * @module
 */

export type BlockKind = 'run' | 'quote' | 'output' | 'shell' | 'prose' | 'unmarked';

export interface Block {
  readonly kind: BlockKind;
  /** The language word of the info string (`ts`, `text`, ...). */
  readonly lang: string;
  /** The marker comment above the fence, without `<!--`/`-->`, or null. */
  readonly marker: string | null;
  /** The block's text, without the fences, dedented. */
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** 0-based line indices of the first and last content lines (end exclusive), for rewriting. */
  readonly start: number;
  readonly end: number;
  /** The indentation of the fence (blocks inside list items are indented). */
  readonly indent: string;
  /** For `run`: true when it continues the script of the run block before it. */
  readonly continued: boolean;
  /** For `quote`: the quoted file; for `output` with a marker: the script and its arguments. */
  readonly target: string | null;
  /** For an `output` block without a marker: the index of the run block whose output it shows. */
  readonly outputOf: number | null;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)\s*$/;
const MARKER = /^<!--\s*(.+?)\s*-->$/;
const TS = new Set(['ts', 'typescript']);

/** Split a Markdown document into its fenced code blocks. */
export function parseBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let marker: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = MARKER.exec(line.trim());
    if (m) {
      marker = m[1]!;
      continue;
    }
    const open = FENCE.exec(line);
    if (!open) {
      if (line.trim() !== '') marker = null; // a marker belongs to the block right below it
      continue;
    }
    const [, indent = '', fence = '```', lang = ''] = open;
    let j = i + 1;
    while (j < lines.length && !lines[j]!.trimStart().startsWith(fence)) j++;
    const body = lines.slice(i + 1, j).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l));
    const previous = blocks[blocks.length - 1];
    const followsRun =
      previous?.kind === 'run' && lines.slice(previous.end + 1, i).every((l) => l.trim() === '');
    let kind: BlockKind;
    let target: string | null = null;
    if (marker === 'run' || marker === 'run: continued') kind = 'run';
    else if (marker?.startsWith('quote:')) [kind, target] = ['quote', marker.slice(6).trim()];
    else if (marker?.startsWith('output:')) [kind, target] = ['output', marker.slice(7).trim()];
    else if (TS.has(lang)) kind = 'unmarked';
    else if (lang === 'bash' || lang === 'sh' || lang === 'shell') kind = 'shell';
    else if (marker === null && followsRun && (lang === 'text' || lang === '')) kind = 'output';
    else kind = 'prose';
    blocks.push({
      kind,
      lang,
      marker,
      code: body.join('\n'),
      line: i + 1,
      start: i + 1,
      end: j,
      indent,
      continued: marker === 'run: continued',
      target,
      outputOf: kind === 'output' && target === null ? blocks.length - 1 : null,
    });
    marker = null;
    i = j;
  }
  return blocks;
}

/** Replace the contents of the given blocks (by index) and return the new document. */
export function rewriteBlocks(
  markdown: string,
  blocks: readonly Block[],
  contents: Map<number, string>,
): string {
  const lines = markdown.split('\n');
  // Back to front, so earlier line numbers stay valid.
  const order = [...contents.keys()].sort((a, b) => b - a);
  for (const i of order) {
    const b = blocks[i]!;
    const text = contents.get(i)!.replace(/\n+$/, '');
    const body = text.split('\n').map((l) => (l.length > 0 ? b.indent + l : l));
    lines.splice(b.start, b.end - b.start, ...body);
  }
  return lines.join('\n');
}
