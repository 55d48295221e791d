/**
 * `defineOp`: a new op, with its gradient rule, from outside the library.
 *
 * A built-in op is a primitive of `ops.ts` with its rule in the typed table of `rules.ts`. An
 * op made here records its nodes through the same `record`, under its own name, and its rule
 * lives in a registry of its own that the engine consults for names that are not primitives.
 * Everything after the rule is shared with the built-ins: the engine's checks of what the rule
 * returned, the one un-broadcast, anomaly mode, traces and pictures.
 * @module
 */
import * as T from '@chainrule/tensor';
import { ChainruleError, type KernelArgs, type OutSpec, type Tensor } from '@chainrule/tensor';
import { isPrimitive, record, type VarLike } from './ops.ts';
import type { GradRule, RuleContext } from './rules.ts';
import { Var } from './var.ts';

/** What {@link defineOp} takes. `A` is the type of the op's attributes. */
export interface OpDefinition<A extends object = Record<string, never>> {
  /**
   * The op's name, shown in graphs, traces and errors. It must differ from every built-in op
   * and kernel, and from every op defined before.
   */
  readonly name: string;
  /** How many inputs the op takes. Default 1. */
  readonly arity?: number;
  /** The attributes a plain call uses; `op.withAttrs({...})` overrides them. Default `{}`. */
  readonly attrs?: A;
  /**
   * The forward pass, written with `@chainrule/tensor` ops, so it runs on every backend.
   * Tensors it makes and does not return are released when it returns.
   */
  readonly forward: (inputs: readonly Tensor[], attrs: Readonly<A>) => Tensor;
  /**
   * Optional kernels, by backend name (`js`, `wasm`, `gpujs`). Each is registered in the
   * kernel registry under the op's name and runs instead of `forward` on its backend; the
   * other backends run `forward`. A kernel fills `outputs[0]` from `inputs`.
   */
  readonly kernels?: Readonly<Record<string, (args: KernelArgs<A>) => void>>;
  /**
   * The shape and dtype of the output, for the kernels. Default: the inputs' broadcast shape
   * and the first input's dtype.
   */
  readonly output?: (inputs: readonly Tensor[], attrs: Readonly<A>) => OutSpec;
  /**
   * The vector-Jacobian rule: the upstream gradient `g` (shaped like the output) in, one
   * gradient per input (or `null` for none) out. Write it with the differentiable ops of
   * `@chainrule/autograd`, so that it can itself be differentiated (`createGraph`). A
   * gradient may have the output's broadcast shape: the engine sums it back to the input's
   * shape, as for the built-in ops.
   */
  readonly vjp: (g: Var, ctx: RuleContext<Readonly<A>>) => (Var | null)[];
}

/** An op made by {@link defineOp}: call it on Vars (or numbers, as constants). */
export interface CustomOp<A extends object = Record<string, never>> {
  /** Apply the op with its default attributes. */
  (...inputs: VarLike[]): Var;
  /** The op's name, as recorded in its nodes. */
  readonly opName: string;
  /** How many inputs it takes. */
  readonly arity: number;
  /** The definition it was made from. */
  readonly definition: OpDefinition<A>;
  /** The attributes this function applies the op with. */
  readonly attrs: Readonly<A>;
  /** The op with some attributes replaced, for example `leaky.withAttrs({ slope: 0.2 })(x)`. */
  withAttrs(attrs: Partial<A>): CustomOp<A>;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds ops of every attribute type.
const registry = new Map<string, OpDefinition<any>>();

/** @internal The rule of an op made by `defineOp`, for the engine. */
export function customOpRule(name: string): GradRule | undefined {
  const def = registry.get(name);
  return def ? (g, ctx) => def.vjp(g, ctx) : undefined;
}

/** The names of the ops made by {@link defineOp} so far, in order of definition. */
export function customOpNames(): string[] {
  return [...registry.keys()];
}

/** Options for {@link defineOp}. */
export interface DefineOpOptions {
  /**
   * Replace an op defined before under the same name with a different definition (a REPL, hot
   * module reload). Without it a different definition under a taken name is an error; an
   * identical one (same arity, attributes and function sources) is always accepted.
   */
  readonly replace?: boolean;
}

/** The source of a function, or undefined: what "identical" compares for the functions of a definition. */
const sourceOf = (f: unknown): string | undefined => (typeof f === 'function' ? f.toString() : undefined);

/**
 * Whether two definitions are the same op: the same arity, default attributes, and the same
 * source text for forward, vjp, output and each kernel. Running a module twice (a REPL, a
 * reload) makes new function objects with the same text.
 */
// biome-ignore lint/suspicious/noExplicitAny: compares definitions of any attribute type.
function sameDefinition(a: OpDefinition<any>, b: OpDefinition<any>): boolean {
  const kernels = (d: OpDefinition<object>) =>
    Object.entries(d.kernels ?? {})
      .map(([k, f]) => `${k}:${sourceOf(f)}`)
      .sort()
      .join('\n');
  return (
    (a.arity ?? 1) === (b.arity ?? 1) &&
    JSON.stringify(a.attrs ?? {}) === JSON.stringify(b.attrs ?? {}) &&
    sourceOf(a.forward) === sourceOf(b.forward) &&
    sourceOf(a.vjp) === sourceOf(b.vjp) &&
    sourceOf(a.output) === sourceOf(b.output) &&
    kernels(a) === kernels(b)
  );
}

function checkDefinition<A extends object>(def: OpDefinition<A>, options: DefineOpOptions): number {
  const name = def?.name;
  if (typeof name !== 'string' || !/^[A-Za-z_][\w.]*$/.test(name)) {
    throw new ChainruleError(
      'defineOp',
      `name must be an identifier-like string (letters, digits, _ and .), got ${JSON.stringify(name)}`,
    );
  }
  if (isPrimitive(name)) {
    throw new ChainruleError(
      'defineOp',
      `"${name}" is a built-in op of @chainrule/autograd; pick another name`,
    );
  }
  if ((T.KERNEL_NAMES as readonly string[]).includes(name)) {
    throw new ChainruleError(
      'defineOp',
      `"${name}" is a built-in kernel of @chainrule/tensor; pick another name`,
    );
  }
  const before = registry.get(name);
  if (before && !options.replace && !sameDefinition(before, def)) {
    throw new ChainruleError(
      'defineOp',
      `an op named "${name}" is already defined differently; pick another name, or pass { replace: true } to replace it`,
    );
  }
  const arity = def.arity ?? 1;
  if (!Number.isInteger(arity) || arity < 1) {
    throw new ChainruleError('defineOp', `${name}: arity must be a positive integer, got ${arity}`);
  }
  for (const key of ['forward', 'vjp'] as const) {
    if (typeof def[key] !== 'function') {
      throw new ChainruleError('defineOp', `${name}: ${key} must be a function, got ${typeof def[key]}`);
    }
  }
  for (const [backend, fn] of Object.entries(def.kernels ?? {})) {
    if (typeof fn !== 'function') {
      throw new ChainruleError(
        'defineOp',
        `${name}: the kernel for backend "${backend}" must be a function, got ${typeof fn}`,
      );
    }
  }
  return arity;
}

/**
 * Define a differentiable op from a forward written with tensor ops (optionally a kernel per
 * backend) and a vector-Jacobian rule written with differentiable ops. The op records nodes
 * under `name`, so it shows in `toMermaid`/`toDot` and backward traces, is checked in anomaly
 * mode, and has first and higher derivatives. Check it with `checkOp` from
 * `@chainrule/autograd/testing`.
 *
 * @example
 * const softplus = defineOp({
 *   name: 'softplus',
 *   forward: ([x]) => T.log(T.add(T.exp(x), 1)),
 *   vjp: (g, { inputs: [x] }) => [mul(g, sigmoid(x))],
 * });
 * softplus(param([0, 1])) // a Var whose node's op is "softplus"
 *
 * Defining the same op again (an identical definition, as when a REPL or a hot reload runs the
 * module twice) is accepted; a different definition under a taken name needs `{ replace: true }`.
 * Ops made before a replacement record the same name, so they use the new rule too.
 * @throws ChainruleError when the name is taken by a built-in or by a different definition, or
 * the definition is malformed.
 */
export function defineOp<A extends object = Record<string, never>>(
  def: OpDefinition<A>,
  options: DefineOpOptions = {},
): CustomOp<A> {
  const arity = checkDefinition(def, options);
  const { name } = def;
  const defaults = Object.freeze({ ...(def.attrs ?? {}) }) as Readonly<A>;
  // A redefinition takes over the name: its rule from now on, and only its own kernels (a
  // kernel of the old definition on a backend the new one lacks would run instead of forward).
  const before = registry.get(name);
  for (const backend of Object.keys(before?.kernels ?? {})) T.unregisterCustomKernel(name, backend);
  registry.set(name, def);
  for (const [backend, fn] of Object.entries(def.kernels ?? {}))
    T.registerCustomKernel({ op: name, backend, fn });

  const outSpec = (inputs: readonly Tensor[], attrs: Readonly<A>): OutSpec =>
    def.output
      ? def.output(inputs, attrs)
      : { shape: T.broadcastShapes(name, ...inputs.map((t) => t.shape)), dtype: inputs[0]!.dtype };

  const forward = (inputs: readonly Tensor[], attrs: Readonly<A>): Tensor => {
    const kernel = T.getKernel(name, T.getBackend().name);
    if (kernel && (!kernel.supports || kernel.supports({ inputs, attrs }))) {
      return T.runCustomKernel(name, inputs, [outSpec(inputs, attrs)], attrs)[0]!;
    }
    const out = T.tidy(() => def.forward(inputs, attrs));
    if (!(out instanceof T.Tensor)) {
      throw new ChainruleError(
        name,
        `forward must return a Tensor, got ${out === null ? 'null' : typeof out}`,
      );
    }
    return out;
  };

  const apply = (args: readonly VarLike[], attrs: Readonly<A>): Var => {
    if (args.length !== arity) {
      throw new ChainruleError(name, `expected ${arity} input(s), got ${args.length}`);
    }
    const first = args.find((x): x is Var => x instanceof Var);
    if (!first) throw new ChainruleError(name, 'expected at least one input to be a Var, got only numbers');
    const vars = args.map((x, i) => {
      if (x instanceof Var) return x;
      if (typeof x === 'number') return new Var(T.scalar(x, first.dtype), { requiresGrad: false });
      throw new ChainruleError(
        name,
        `input ${i} must be a Var or a number, got ${x === null ? 'null' : typeof x}`,
      );
    });
    return record(name, vars, attrs as Record<string, unknown>, () =>
      forward(
        vars.map((v) => v.value),
        attrs,
      ),
    );
  };

  const bind = (attrs: Readonly<A>): CustomOp<A> => {
    const op = (...inputs: VarLike[]) => apply(inputs, attrs);
    Object.defineProperty(op, 'name', { value: name });
    return Object.assign(op, {
      opName: name,
      arity,
      definition: def,
      attrs,
      withAttrs: (more: Partial<A>) => bind(Object.freeze({ ...attrs, ...more }) as Readonly<A>),
    });
  };
  return bind(defaults);
}
