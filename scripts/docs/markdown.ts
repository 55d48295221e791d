/**
 * The code blocks of a Markdown document, and what each one promises.
 *
 * Every fenced block in README.md and docs/*.md is one of these kinds, chosen by its info
 * string (the text after the opening fence):
 *
 * | info string              | kind      | how `pnpm docs:check` checks it                                   |
 * |--------------------------|-----------|-------------------------------------------------------------------|
 * | `ts`                     | `run`     | runs, with the document's other `ts` blocks, as one program       |
 * | `ts fresh`               | `run`     | the same, in a new scope: earlier blocks' names are not visible   |
 * | `ts excerpt=PATH`        | `excerpt` | each code line appears in PATH, in the same order                 |
 * | `text output`, `mermaid output` | `output` | equals what the `ts` block before it printed              |
 * | `bash`                   | `shell`   | each `pnpm SCRIPT` exists; `train` flags appear in its `--help`   |
 * | `text`, `mermaid`, other | `prose`   | not code (figures, formulas, file trees): nothing to run          |
 * @module
 */

export type BlockKind = 'run' | 'excerpt' | 'output' | 'shell' | 'prose';

export interface Block {
  readonly kind: BlockKind;
  /** The language word of the info string (`ts`, `text`, ...). */
  readonly lang: string;
  /** The info string after the language word. */
  readonly info: string;
  /** The block's text, without the fences, dedented. */
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** 0-based line indices of the first and last content lines (end exclusive), for rewriting. */
  readonly start: number;
  readonly end: number;
  /** The indentation of the fence (blocks inside list items are indented). */
  readonly indent: string;
  /** For an excerpt, the file it quotes, relative to the repository root. */
  readonly excerptOf?: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)\s*(.*)$/;

function kindOf(lang: string, info: string): BlockKind {
  const words = info.split(/\s+/).filter(Boolean);
  if (words.includes('output')) return 'output';
  if (lang === 'ts' || lang === 'typescript') {
    return words.some((w) => w.startsWith('excerpt=')) ? 'excerpt' : 'run';
  }
  if (lang === 'bash' || lang === 'sh' || lang === 'shell') return 'shell';
  return 'prose';
}

/** Split a Markdown document into its fenced code blocks. */
export function parseBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '```', lang = '', info = ''] = open;
    let j = i + 1;
    while (j < lines.length && !lines[j]!.trimStart().startsWith(fence)) j++;
    const body = lines.slice(i + 1, j).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l));
    const kind = kindOf(lang, info.trim());
    const excerpt = /excerpt=(\S+)/.exec(info)?.[1];
    blocks.push({
      kind,
      lang,
      info: info.trim(),
      code: body.join('\n'),
      line: i + 1,
      start: i + 1,
      end: j,
      indent,
      ...(excerpt ? { excerptOf: excerpt } : {}),
    });
    i = j;
  }
  return blocks;
}

/**
 * The `ts` block that an `output` block shows the output of: the nearest `run` block before
 * it. Returns a map from output block index to run block index.
 */
export function outputOwners(blocks: readonly Block[]): Map<number, number> {
  const owners = new Map<number, number>();
  let lastRun = -1;
  blocks.forEach((b, i) => {
    if (b.kind === 'run') lastRun = i;
    if (b.kind === 'output') owners.set(i, lastRun);
  });
  return owners;
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
