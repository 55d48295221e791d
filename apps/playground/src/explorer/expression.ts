/**
 * A small expression language for the autograd explorer, parsed by hand (never `eval`):
 *
 *     expr    := sum
 *     sum     := product (("+" | "-") product)*
 *     product := matmul (("*" | "/") matmul)*
 *     matmul  := unary ("@" unary)*
 *     unary   := "-" unary | power
 *     power   := atom ("^" unary)?            (right-associative)
 *     atom    := number | name | name "(" expr ("," expr)* ")" | "(" expr ")"
 *
 * Names refer to tensors the user defines, one per line, as `name = <JSON array or number>`.
 * @module
 */
import * as A from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import { ChainruleError } from '@chainrule/tensor';

/** A parsed expression. */
export type Expr =
  | { kind: 'num'; value: number }
  | { kind: 'name'; name: string }
  | { kind: 'neg'; x: Expr }
  | { kind: 'bin'; op: '+' | '-' | '*' | '/' | '^' | '@'; a: Expr; b: Expr }
  | { kind: 'call'; fn: string; args: Expr[] };

/** The functions an expression may call, with how many arguments each takes. */
export const FUNCTIONS: Readonly<Record<string, { min: number; max: number; doc: string }>> = {
  exp: { min: 1, max: 1, doc: 'eˣ' },
  log: { min: 1, max: 1, doc: 'ln x' },
  sqrt: { min: 1, max: 1, doc: '√x' },
  square: { min: 1, max: 1, doc: 'x²' },
  abs: { min: 1, max: 1, doc: '|x|' },
  tanh: { min: 1, max: 1, doc: 'tanh x' },
  sigmoid: { min: 1, max: 1, doc: '1/(1+e⁻ˣ)' },
  relu: { min: 1, max: 1, doc: 'max(x, 0)' },
  sin: { min: 1, max: 1, doc: 'sin x' },
  cos: { min: 1, max: 1, doc: 'cos x' },
  log1p: { min: 1, max: 1, doc: 'ln(1 + x)' },
  expm1: { min: 1, max: 1, doc: 'eˣ − 1' },
  erf: { min: 1, max: 1, doc: 'the error function' },
  rsqrt: { min: 1, max: 1, doc: '1/√x' },
  softplus: { min: 1, max: 1, doc: 'ln(1 + eˣ)' },
  elu: { min: 1, max: 1, doc: 'x if x > 0, else eˣ − 1' },
  selu: { min: 1, max: 1, doc: 'scaled elu' },
  gelu: { min: 1, max: 1, doc: 'x·Φ(x)' },
  silu: { min: 1, max: 1, doc: 'x·σ(x)' },
  atan2: { min: 2, max: 2, doc: 'atan2(y, x)' },
  softmax: { min: 1, max: 2, doc: 'softmax(x) or softmax(x, axis); default the last axis' },
  logSoftmax: { min: 1, max: 2, doc: 'logSoftmax(x) or logSoftmax(x, axis)' },
  logsumexp: { min: 1, max: 2, doc: 'logsumexp(x) or logsumexp(x, axis)' },
  sum: { min: 1, max: 2, doc: 'sum(x) or sum(x, axis)' },
  mean: { min: 1, max: 2, doc: 'mean(x) or mean(x, axis)' },
  max: { min: 1, max: 2, doc: 'max(x) or max(x, axis)' },
  matmul: { min: 2, max: 2, doc: 'matmul(a, b), also a @ b' },
  transpose: { min: 1, max: 1, doc: 'transpose(x) of a matrix' },
};

interface Token {
  kind: 'num' | 'name' | 'op' | 'end';
  text: string;
  pos: number;
}

const OPS = new Set(['+', '-', '*', '/', '^', '@', '(', ')', ',']);

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ kind: 'num', text: num[0], pos: i });
      i += num[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (name) {
      out.push({ kind: 'name', text: name[0], pos: i });
      i += name[0].length;
      continue;
    }
    if (OPS.has(c)) {
      out.push({ kind: 'op', text: c, pos: i });
      i++;
      continue;
    }
    throw new ChainruleError('expression', `unexpected character "${c}" at column ${i + 1}`);
  }
  out.push({ kind: 'end', text: 'the end', pos: src.length });
  return out;
}

/** Parse an expression; a syntax error names the column and what was expected. */
export function parseExpression(src: string): Expr {
  const toks = tokenize(src);
  let k = 0;
  const peek = () => toks[k]!;
  const isOp = (...ops: string[]) => peek().kind === 'op' && ops.includes(peek().text);
  const expect = (text: string) => {
    const t = peek();
    if (t.kind !== 'op' || t.text !== text)
      throw new ChainruleError('expression', `expected "${text}" at column ${t.pos + 1}, got "${t.text}"`);
    k++;
  };

  const sum = (): Expr => {
    let e = product();
    while (isOp('+', '-')) {
      const op = toks[k++]!.text as '+' | '-';
      e = { kind: 'bin', op, a: e, b: product() };
    }
    return e;
  };
  const product = (): Expr => {
    let e = matmul();
    while (isOp('*', '/')) {
      const op = toks[k++]!.text as '*' | '/';
      e = { kind: 'bin', op, a: e, b: matmul() };
    }
    return e;
  };
  const matmul = (): Expr => {
    let e = unary();
    while (isOp('@')) {
      k++;
      e = { kind: 'bin', op: '@', a: e, b: unary() };
    }
    return e;
  };
  const unary = (): Expr => {
    if (isOp('-')) {
      k++;
      return { kind: 'neg', x: unary() };
    }
    return power();
  };
  const power = (): Expr => {
    const base = atom();
    if (isOp('^')) {
      k++;
      return { kind: 'bin', op: '^', a: base, b: unary() };
    }
    return base;
  };
  const atom = (): Expr => {
    const t = peek();
    if (t.kind === 'num') {
      k++;
      return { kind: 'num', value: Number(t.text) };
    }
    if (t.kind === 'name') {
      k++;
      if (!isOp('(')) return { kind: 'name', name: t.text };
      const spec = FUNCTIONS[t.text];
      if (!spec) {
        throw new ChainruleError(
          'expression',
          `unknown function "${t.text}" at column ${t.pos + 1}; known: ${Object.keys(FUNCTIONS).join(', ')}`,
        );
      }
      k++;
      const args = [sum()];
      while (isOp(',')) {
        k++;
        args.push(sum());
      }
      expect(')');
      if (args.length < spec.min || args.length > spec.max) {
        throw new ChainruleError(
          'expression',
          `${t.text} takes ${spec.min === spec.max ? spec.min : `${spec.min} or ${spec.max}`} argument(s), got ${args.length}: ${spec.doc}`,
        );
      }
      return { kind: 'call', fn: t.text, args };
    }
    if (isOp('(')) {
      k++;
      const e = sum();
      expect(')');
      return e;
    }
    throw new ChainruleError(
      'expression',
      `expected a number, a name, a function call or "(" at column ${t.pos + 1}, got "${t.text}"`,
    );
  };

  const e = sum();
  if (peek().kind !== 'end') {
    throw new ChainruleError('expression', `unexpected "${peek().text}" at column ${peek().pos + 1}`);
  }
  return e;
}

/**
 * Parse tensor definitions, one per line: `name = [[1, 2], [3, 4]]` (JSON) or `name = 0.5`.
 * Blank lines and lines starting with `#` are skipped. Values become float64.
 */
export function parseTensors(src: string): Map<string, T.Tensor> {
  const out = new Map<string, T.Tensor>();
  src.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$/.exec(line);
    if (!m) throw new ChainruleError('tensors', `line ${i + 1}: expected "name = [numbers]", got "${line}"`);
    const [, name, rhs] = m;
    if (name! in FUNCTIONS)
      throw new ChainruleError('tensors', `line ${i + 1}: "${name}" is a function name`);
    let value: unknown;
    try {
      value = JSON.parse(rhs!);
    } catch {
      throw new ChainruleError(
        'tensors',
        `line ${i + 1}: the value of ${name} is not a JSON number or array`,
      );
    }
    try {
      out.set(
        name!,
        typeof value === 'number'
          ? T.scalar(value, 'float64')
          : T.tensor(value as T.NestedArray, { dtype: 'float64' }),
      );
    } catch (e) {
      throw new ChainruleError('tensors', `line ${i + 1}: ${(e as Error).message}`);
    }
  });
  return out;
}

/** The names an expression refers to, in order of first use. */
export function namesIn(e: Expr): string[] {
  const seen: string[] = [];
  const walk = (x: Expr) => {
    if (x.kind === 'name' && !seen.includes(x.name)) seen.push(x.name);
    else if (x.kind === 'neg') walk(x.x);
    else if (x.kind === 'bin') {
      walk(x.a);
      walk(x.b);
    } else if (x.kind === 'call') x.args.forEach(walk);
  };
  walk(e);
  return seen;
}

function axisArg(fn: string, e: Expr | undefined): number | undefined {
  if (e === undefined) return undefined;
  const v = e.kind === 'num' ? e.value : e.kind === 'neg' && e.x.kind === 'num' ? -e.x.value : Number.NaN;
  if (!Number.isInteger(v))
    throw new ChainruleError('expression', `${fn}: the axis must be an integer literal`);
  return v;
}

/** Evaluate an expression with the differentiable ops of @chainrule/autograd. */
export function evaluate(e: Expr, vars: ReadonlyMap<string, A.Var>): A.Var | number {
  const ev = (x: Expr): A.Var | number => evaluate(x, vars);
  const asVar = (v: A.Var | number): A.Var =>
    typeof v === 'number' ? A.constant(T.scalar(v, 'float64')) : v;
  switch (e.kind) {
    case 'num':
      return e.value;
    case 'name': {
      const v = vars.get(e.name);
      if (!v) {
        throw new ChainruleError(
          'expression',
          `unknown name "${e.name}"; defined tensors: ${[...vars.keys()].join(', ') || '(none)'}`,
        );
      }
      return v;
    }
    case 'neg': {
      const x = ev(e.x);
      return typeof x === 'number' ? -x : A.neg(x);
    }
    case 'bin': {
      const a = ev(e.a);
      const b = ev(e.b);
      if (typeof a === 'number' && typeof b === 'number') {
        const f = { '+': a + b, '-': a - b, '*': a * b, '/': a / b, '^': a ** b, '@': Number.NaN }[e.op];
        if (e.op === '@') throw new ChainruleError('expression', '@ needs two tensors, got two numbers');
        return f;
      }
      if (e.op === '@') return A.matmul(asVar(a), asVar(b));
      const fn = { '+': A.add, '-': A.sub, '*': A.mul, '/': A.div, '^': A.pow }[e.op];
      // The ops take a number on either side, but the first Var decides the dtype.
      return typeof a === 'number' ? fn(asVar(a), b) : fn(a, b);
    }
    case 'call': {
      const args = e.args.map(ev);
      const x = asVar(args[0]!);
      switch (e.fn) {
        case 'sum':
          return A.sum(x, axisArg('sum', e.args[1]));
        case 'mean':
          return A.mean(x, axisArg('mean', e.args[1]));
        case 'max':
          return A.max(x, axisArg('max', e.args[1]));
        case 'matmul':
          return A.matmul(x, asVar(args[1]!));
        case 'transpose':
          return A.transpose(x);
        case 'atan2':
          return A.atan2(x, asVar(args[1]!));
        case 'softmax':
          return A.softmax(x, axisArg('softmax', e.args[1]) ?? -1);
        case 'logSoftmax':
          return A.logSoftmax(x, axisArg('logSoftmax', e.args[1]) ?? -1);
        case 'logsumexp':
          return A.logsumexp(x, axisArg('logsumexp', e.args[1]));
        default: {
          const unary = A[e.fn as 'exp'] as (v: A.Var) => A.Var;
          return unary(x);
        }
      }
    }
  }
}
