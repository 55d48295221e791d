/**
 * Capture and replay: run a tensor function once while recording the kernels it runs, then
 * repeat exactly those kernels on later calls, without running the function's JavaScript
 * again. The idea of CUDA Graphs and `jax.jit`, in a small layer beside the eager path.
 *
 * ```ts
 * const step = replayable((obs: Tensor, target: Tensor) => {
 *   // forward, backward, optimiser step: any eager code that only runs ops
 *   return { loss };
 * });
 * step.call([obs, target]);                 // 1st call: eager (warm-up)
 * step.call([obs, target]);                 // 2nd call: eager, and captured
 * const { loss } = step.call([obs2, target2]); // later calls with the same shapes: replayed
 * ```
 *
 * **What a replay skips.** Everything that is not a kernel: building the autograd graph,
 * `Var` and `Tensor` objects, shape checks, scope bookkeeping and allocation. Each kernel
 * runs on buffers the plan keeps from call to call.
 *
 * **What it repeats.** The kernels, in order, with the attributes they were given, and the
 * `assign()`s to variables (parameters, optimiser moments and step counts, running
 * statistics).
 *
 * **What it reads.** Exactly two kinds of input, anew on every call, as `jax.jit` reads its
 * arguments: the tensors passed to `call`, and the current values of the variables
 * (`keep()`) the function used, such as an optimiser's learning rate and step count, which
 * are 0-d variables for this reason. Everything else is a constant of the capture: a
 * JavaScript number passed to an op, a kernel attribute, a tensor made from host data.
 * `CHAINRULE_REPLAY=verify` runs the eager function beside every replay and names the
 * first kernel whose inputs, attributes or outputs differ, which is how a number that
 * should have been an input shows up.
 *
 * **What the function may not do.** Anything whose effect a replay could not repeat ends
 * the capture, and that function then runs eagerly (`stats().eagerReason` says why):
 * reading tensor data (`dataSync`, `item`), drawing from an `Rng`, a kernel falling back to
 * another backend. Plain JavaScript that decides which ops run (a branch on a step count)
 * runs only once, at capture: pass a different `variant` for each branch. A new argument
 * shape, dtype or backend captures a new plan.
 *
 * **Memory.** A buffer is overwritten only while the plan is its sole holder. A result the
 * caller still holds, or a buffer a variable now uses, gets a fresh buffer on the next call,
 * so nothing the caller can see ever changes under it (at most two buffers per slot are
 * kept, which makes variables' updates allocation-free). `dispose()` releases the plan.
 * @module
 */
import { type Backend, debugLog, getBackend, type KernelFunc, type Storage } from './backend.ts';
import { activeRecorder, type CaptureRecorder, captureEpoch, setRecorder } from './capture-hooks.ts';
import { bytesPerElement, type DType } from './dtype.ts';
import { envVar } from './env.ts';
import { ChainruleError, fmtShape } from './errors.ts';
import { tidy } from './scope.ts';
import { acquire, makeView, rebindView, release, Tensor, variableHolding } from './tensor.ts';

/** Where a slot's buffer comes from on each call. */
type SlotKind = 'argument' | 'variable' | 'constant' | 'internal';

/** One buffer of the plan: the storage a kernel reads or writes, under every shape it is viewed with. */
interface Slot {
  readonly kind: SlotKind;
  readonly dtype: DType;
  /** Elements in the buffer. */
  readonly size: number;
  /** For `argument`: its index. */
  readonly argument?: number;
  /**
   * For `variable`: the variables whose value it is at the start of a call (more than one
   * when variables shared storage at capture, as a hard-copied target does). A replay
   * checks they still share it, else it captures again.
   */
  readonly variables?: Tensor[];
  /** For `internal` and `constant`: the buffers the plan holds one reference to. */
  readonly pool: Storage[];
  /** The tensor objects the steps use for this buffer (one per shape it is seen with). */
  readonly views: Tensor[];
}

type Step =
  | {
      readonly kind: 'kernel';
      readonly op: string;
      readonly fn: KernelFunc;
      readonly inputs: Tensor[];
      readonly outputs: Tensor[];
      readonly attrs: unknown;
    }
  | { readonly kind: 'assign'; readonly variable: Tensor; readonly value: Tensor };

/** The shape of a function's result, with the views that hold its tensors. */
type Template =
  | { readonly kind: 'none'; readonly value: null | undefined }
  | { readonly kind: 'tensor'; readonly view: Tensor }
  | { readonly kind: 'array'; readonly items: Template[] }
  | { readonly kind: 'object'; readonly entries: [string, Template][] };

function bytesOf(slot: Slot): number {
  return slot.size * bytesPerElement(slot.dtype);
}

/** A recording in progress: the {@link CaptureRecorder} the hooks talk to while the function runs eagerly. */
class Recording implements CaptureRecorder {
  readonly slots: Slot[] = [];
  readonly steps: Step[] = [];
  private readonly byStorage = new Map<Storage, Slot>();
  /** Variables assigned during the capture: their later storage is not their value at the start. */
  private readonly assigned = new Set<Tensor>();
  failure: string | undefined;

  constructor(
    readonly backend: Backend,
    args: readonly Tensor[],
  ) {
    args.forEach((t, i) => {
      if (this.byStorage.has(t.storage)) {
        this.fail(`arguments ${this.byStorage.get(t.storage)!.argument} and ${i} share their storage`);
        return;
      }
      this.addSlot(t.storage, { kind: 'argument', dtype: t.dtype, size: t.size, argument: i });
    });
  }

  private addSlot(storage: Storage, fields: Omit<Slot, 'pool' | 'views'>): Slot {
    const slot: Slot = { ...fields, pool: [], views: [] };
    if (slot.kind === 'internal' || slot.kind === 'constant') {
      acquire(storage, bytesOf(slot));
      slot.pool.push(storage);
    }
    this.slots.push(slot);
    this.byStorage.set(storage, slot);
    return slot;
  }

  /** The slot of `t`'s storage, classified on first sight. */
  private slotOf(t: Tensor): Slot {
    const storage = t.storage;
    // Not made by a kernel of this call: the value of a variable, or a constant (storage is immutable).
    const variable = t.isVariable ? t : variableHolding(storage);
    const fromStart = variable && !this.assigned.has(variable) ? variable : undefined;
    const known = this.byStorage.get(storage);
    if (known) {
      if (fromStart && known.kind === 'variable' && !known.variables!.includes(fromStart))
        known.variables!.push(fromStart);
      return known;
    }
    if (storage.backend !== this.backend)
      this.fail(`a tensor on the ${storage.backend.name} backend is used`);
    return fromStart
      ? this.addSlot(storage, {
          kind: 'variable',
          dtype: t.dtype,
          size: fromStart.size,
          variables: [fromStart],
        })
      : this.addSlot(storage, { kind: 'constant', dtype: t.dtype, size: t.size });
  }

  /** A tensor object for `t` that the plan can point at the slot's buffer of each call. */
  view(t: Tensor): Tensor {
    const slot = this.slotOf(t);
    const v = makeView(t.shape, t.dtype, t.storage);
    slot.views.push(v);
    return v;
  }

  kernel(
    op: string,
    fn: KernelFunc,
    inputs: readonly Tensor[],
    outputs: readonly Tensor[],
    attrs: unknown,
  ): void {
    if (this.failure) return;
    const ins = inputs.map((t) => this.view(t));
    const outs = outputs.map((t) => {
      if (this.byStorage.has(t.storage)) this.fail('a kernel wrote into a buffer it did not allocate');
      this.addSlot(t.storage, { kind: 'internal', dtype: t.dtype, size: t.size });
      return this.view(t);
    });
    this.steps.push({ kind: 'kernel', op, fn, inputs: ins, outputs: outs, attrs });
  }

  assign(variable: Tensor, value: Tensor): void {
    if (this.failure) return;
    if (value.storage.backend !== variable.storage.backend) {
      this.fail('a variable is assigned a value from another backend');
      return;
    }
    this.steps.push({ kind: 'assign', variable, value: this.view(value) });
    this.assigned.add(variable);
  }

  read(t: Tensor): void {
    this.fail(
      `it reads tensor data (dataSync, item or toArray of a ${t.dtype} ${fmtShape(t.shape)} tensor); return the tensor and read it after the call`,
    );
  }

  fail(reason: string): void {
    this.failure ??= reason;
  }

  /** The template of the function's result; a value a replay cannot rebuild fails the capture. */
  template(value: unknown, depth = 0): Template {
    if (value === undefined || value === null) return { kind: 'none', value };
    if (value instanceof Tensor) return { kind: 'tensor', view: this.view(value) };
    if (depth < 4 && Array.isArray(value))
      return { kind: 'array', items: value.map((v) => this.template(v, depth + 1)) };
    if (depth < 4 && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      return {
        kind: 'object',
        entries: Object.entries(value).map(
          ([k, v]) => [k, this.template(v, depth + 1)] as [string, Template],
        ),
      };
    }
    this.fail(
      `it returns ${typeof value === 'object' ? 'an object that is not a plain object, array or Tensor' : `a ${typeof value}`}; return tensors (in arrays or plain objects)`,
    );
    return { kind: 'none', value: undefined };
  }

  /** Release what the recording holds (a failed capture). */
  release(): void {
    for (const slot of this.slots) for (const s of slot.pool) release(s, bytesOf(slot));
    this.slots.length = 0;
    this.steps.length = 0;
  }
}

/** A captured call: the slots, the steps and the result's template. */
class Plan {
  replays = 0;

  constructor(
    readonly backend: Backend,
    readonly slots: readonly Slot[],
    readonly steps: readonly Step[],
    readonly result: Template,
    readonly poison: boolean,
  ) {}

  private bind(slot: Slot, storage: Storage): void {
    for (const v of slot.views) rebindView(v, storage);
  }

  /** A buffer for an internal slot that nobody but the plan holds: reused, or a new one. */
  private buffer(slot: Slot): Storage {
    for (const s of slot.pool) if (s.refs === 1) return s;
    const s = this.backend.alloc(slot.dtype, slot.size);
    acquire(s, bytesOf(slot));
    slot.pool.push(s);
    // Keep at most two buffers: enough for a variable's old and new value to alternate.
    if (slot.pool.length > 2) {
      const i = slot.pool.findIndex((b) => b !== s);
      release(slot.pool[i]!, bytesOf(slot));
      slot.pool.splice(i, 1);
    }
    return s;
  }

  /**
   * Whether the variables still relate as at capture: the ones that shared a buffer still
   * share one. (If not, the caller captures again.)
   */
  valid(name: string): boolean {
    for (const slot of this.slots) {
      if (slot.kind !== 'variable') continue;
      const [first, ...rest] = slot.variables!;
      for (const v of slot.variables!) {
        if (v.isDisposed)
          throw new ChainruleError(
            name,
            `a variable the captured function uses (${v.dtype} ${fmtShape(v.shape)}) was disposed`,
          );
      }
      if (rest.some((v) => v.storage !== first!.storage)) return false;
    }
    return true;
  }

  run(args: readonly Tensor[]): unknown {
    this.execute(args);
    return build(this.result);
  }

  /** The replay itself: bind every slot to this call's buffer, then run the steps. */
  execute(args: readonly Tensor[]): void {
    for (const slot of this.slots) {
      if (slot.kind === 'argument') this.bind(slot, args[slot.argument!]!.storage);
      else if (slot.kind === 'variable') this.bind(slot, slot.variables![0]!.storage);
      else if (slot.kind === 'internal') {
        const s = this.buffer(slot);
        if (this.poison) this.backend.fill?.(s, slot.dtype, slot.size, Number.NaN);
        this.bind(slot, s);
      }
    }
    for (const step of this.steps) {
      if (step.kind === 'kernel')
        step.fn({ inputs: step.inputs, outputs: step.outputs, attrs: step.attrs as never });
      else step.variable.assign(step.value);
    }
    this.replays++;
  }

  /** The variables the plan assigns, once each. */
  assignedVariables(): Tensor[] {
    const vs = new Set<Tensor>();
    for (const step of this.steps) if (step.kind === 'assign') vs.add(step.variable);
    return [...vs];
  }

  /** The kind of slot a step's view belongs to (for verify's messages). */
  kindOf(view: Tensor): SlotKind | undefined {
    for (const slot of this.slots) if (slot.views.includes(view)) return slot.kind;
    return undefined;
  }

  dispose(): void {
    for (const slot of this.slots) {
      for (const s of slot.pool) release(s, bytesOf(slot));
      slot.pool.length = 0;
    }
  }
}

/** The result of a replay: new tensors (in the caller's scope) over the slots' buffers. */
function build(t: Template): unknown {
  switch (t.kind) {
    case 'none':
      return t.value;
    case 'tensor':
      return new Tensor(t.view.shape, t.view.dtype, t.view.storage);
    case 'array':
      return t.items.map(build);
    case 'object':
      return Object.fromEntries(t.entries.map(([k, v]) => [k, build(v)]));
  }
}

/** Options of {@link replayable}. */
export interface ReplayOptions {
  /** A name for errors and debug messages (default `replayable`). */
  name?: string;
  /** False: always run eagerly (default: true unless `CHAINRULE_REPLAY=0`). */
  enabled?: boolean;
  /**
   * Eager calls per argument shapes before the capture (default 1): code that sets state up
   * on its first call (an optimiser creating its momentum buffers) is then captured in its
   * steady state, as CUDA Graphs need warm-up iterations.
   */
  warmup?: number;
  /**
   * Testing: fill every reused buffer with NaN before each replay, so that a kernel that does
   * not write all of its output shows up as NaN (backends with a `fill` method: js, wasm).
   */
  poison?: boolean;
  /**
   * Testing: run the eager function beside every replay, from the same state, and throw on
   * the first kernel whose inputs, attributes or outputs differ in any bit (default: true
   * when `CHAINRULE_REPLAY=verify`). The eager run's results and state are kept.
   */
  verify?: boolean;
}

/** How a {@link Replayable} has run so far. */
export interface ReplayStats {
  /** Calls that ran eagerly and were captured. */
  captures: number;
  /** Calls that were replayed. */
  replays: number;
  /** Calls that ran eagerly without a capture (warm-up, disabled, or the capture failed). */
  eagerCalls: number;
  /** Captured plans kept (one per argument shapes and variant). */
  plans: number;
  /** Why some calls run eagerly, if they do. */
  eagerReason: string | undefined;
}

/**
 * Environment switch: `CHAINRULE_REPLAY=0` makes every replayable function run eagerly;
 * `poison` replays with the `poison` check on (see {@link ReplayOptions.poison}); `verify`
 * checks every replay against the eager function (see {@link ReplayOptions.verify}).
 */
function replayEnv(): 'on' | 'off' | 'poison' | 'verify' {
  const v = envVar('CHAINRULE_REPLAY');
  if (v === undefined || v === '' || v === '1') return 'on';
  if (v === '0') return 'off';
  if (v === 'poison' || v === 'verify') return v;
  throw new ChainruleError('CHAINRULE_REPLAY', `expected 0, 1, poison or verify, got ${JSON.stringify(v)}`);
}

/**
 * A safety net like the one for tensors: the buffers of a replayable function that was
 * dropped without `dispose()` (an agent thrown away) are released after it is collected.
 */
const dropped = new FinalizationRegistry<Map<string, Plan | { eager: string }>>((plans) => {
  for (const p of plans.values()) if (p instanceof Plan) p.dispose();
});

/**
 * A function of tensors that is captured on its first call and replayed afterwards (see the
 * module documentation for the rules). Make one with {@link replayable}.
 */
export class Replayable<A extends readonly Tensor[], R, V extends string = string> {
  readonly name: string;
  readonly enabled: boolean;
  /** Whether each replay is checked against the eager function ({@link ReplayOptions.verify}). */
  readonly verify: boolean;
  private readonly plans = new Map<string, Plan | { eager: string }>();
  private readonly warm = new Map<string, number>();
  private readonly warmup: number;
  private readonly poison: boolean;
  private counts = { captures: 0, eagerCalls: 0, replays: 0 };
  private eagerReason: string | undefined;
  private epoch = captureEpoch();

  /**
   * @param fn The function, given the variant of the call and the arguments (see
   *   {@link replayable} and {@link replayableVariants}).
   */
  constructor(
    private readonly fn: (variant: V, args: A) => R,
    options: ReplayOptions = {},
  ) {
    if (typeof fn !== 'function')
      throw new ChainruleError('replayable', `expected a function, got ${typeof fn}`);
    this.name = options.name ?? 'replayable';
    const env = replayEnv();
    this.enabled = options.enabled ?? env !== 'off';
    this.poison = options.poison ?? env === 'poison';
    this.verify = options.verify ?? env === 'verify';
    dropped.register(this, this.plans, this);
    this.warmup = options.warmup ?? 1;
    if (!Number.isInteger(this.warmup) || this.warmup < 0)
      throw new ChainruleError(this.name, `warmup must be an integer >= 0, got ${options.warmup}`);
  }

  /**
   * Call the function with `args`. The first call for these argument shapes (and `variant`)
   * runs eagerly and is captured; later ones replay the capture. `variant` names a branch of
   * the function's JavaScript (for example `'actor'` on the steps that also update the
   * actor); a function made with {@link replayableVariants} receives it, so the branch is
   * decided once, here.
   */
  call(args: A, variant: V = '' as V): R {
    const backend = getBackend();
    const key = this.key(backend, args, variant);
    if (this.epoch !== captureEpoch()) this.reset(); // a variable was replaced: plans may be stale
    const entry = this.plans.get(key);
    if (entry instanceof Plan) {
      if (activeRecorder()) return this.eager(args, variant); // inside another capture: let it record the kernels
      if (!entry.valid(this.name)) {
        this.retire(key, entry);
        return this.capture(key, getBackend(), args, variant);
      }
      return this.verify ? this.verified(entry, args, variant) : (entry.run(args) as R);
    }
    if (entry || !this.enabled || activeRecorder()) return this.eager(args, variant);
    const warmed = this.warm.get(key) ?? 0;
    if (warmed < this.warmup) {
      this.warm.set(key, warmed + 1);
      return this.eager(args, variant);
    }
    if (!backend.replayable) {
      this.noteEager(key, `the ${backend.name} backend does not support replay`);
      return this.eager(args, variant);
    }
    return this.capture(key, backend, args, variant);
  }

  /**
   * A replay checked against the eager function (`CHAINRULE_REPLAY=verify`): replay, put the
   * variables back as they were, run the function eagerly while recording its kernels, and
   * compare the two step by step, bit for bit. The eager run's results and state are kept.
   */
  private verified(plan: Plan, args: A, variant: V): R {
    const assigned = plan.assignedVariables();
    // Tensors holding the variables' buffers keep them alive (and out of the plan's reuse).
    const hold = (v: Tensor) => new Tensor(v.shape, v.dtype, v.storage);
    const start = assigned.map(hold);
    const held: Tensor[] = [...start];
    const recording = new Recording(plan.backend, args);
    try {
      plan.execute(args);
      held.push(...assigned.map(hold)); // the replay's end state, until it is compared
      assigned.forEach((v, i) => {
        v.assign(start[i]!);
      });
      const previous = setRecorder(recording);
      let result: R;
      try {
        result = tidy(() => this.fn(variant, args));
      } finally {
        setRecorder(previous);
      }
      const problem = recording.failure ?? compareSteps(plan, recording.steps);
      if (problem)
        throw new ChainruleError(
          this.name,
          `CHAINRULE_REPLAY=verify: replay ${plan.replays} of variant ${JSON.stringify(variant)} differs from the eager function: ${problem}`,
        );
      return result;
    } finally {
      recording.release();
      for (const t of held) t.dispose();
    }
  }

  private key(backend: Backend, args: A, variant: string): string {
    if (!Array.isArray(args))
      throw new ChainruleError(this.name, 'call(args): args must be an array of tensors');
    let key = `${variant}|${backend.name}`;
    for (const [i, t] of args.entries()) {
      if (!(t instanceof Tensor)) throw new ChainruleError(this.name, `argument ${i} is not a Tensor`);
      if (t.isDisposed)
        throw new ChainruleError(this.name, `argument ${i} (${t.dtype} ${fmtShape(t.shape)}) was disposed`);
      key += `|${t.dtype}${fmtShape(t.shape)}`;
    }
    return key;
  }

  private eager(args: A, variant: V): R {
    this.counts.eagerCalls++;
    return tidy(() => this.fn(variant, args));
  }

  private noteEager(key: string, reason: string): void {
    this.plans.set(key, { eager: reason });
    this.eagerReason = reason;
    debugLog(`${this.name}: runs eagerly because ${reason}`);
  }

  private capture(key: string, backend: Backend, args: A, variant: V): R {
    const recording = new Recording(backend, args);
    const previous = setRecorder(recording);
    let result: R;
    try {
      result = tidy(() => this.fn(variant, args));
    } catch (e) {
      recording.release();
      throw e;
    } finally {
      setRecorder(previous);
    }
    const template = recording.template(result);
    if (recording.failure) {
      recording.release();
      this.noteEager(key, recording.failure);
      this.counts.eagerCalls++;
      return result;
    }
    this.plans.set(key, new Plan(backend, recording.slots, recording.steps, template, this.poison));
    this.counts.captures++;
    return result;
  }

  /** How calls have run so far. */
  stats(): ReplayStats {
    let replays = this.counts.replays;
    let plans = 0;
    for (const p of this.plans.values()) {
      if (p instanceof Plan) {
        replays += p.replays;
        plans++;
      }
    }
    return { ...this.counts, replays, plans, eagerReason: this.eagerReason };
  }

  /** Release a plan, keeping its replay count in the stats. */
  private retire(key: string, plan: Plan): void {
    this.counts.replays += plan.replays;
    plan.dispose();
    this.plans.delete(key);
  }

  /** Drop every captured plan and release its buffers; the next call captures again. */
  reset(): void {
    for (const [key, p] of this.plans) if (p instanceof Plan) this.retire(key, p);
    this.plans.clear();
    this.warm.clear();
    this.eagerReason = undefined;
    this.epoch = captureEpoch();
  }

  /** Release the plans' buffers (same as {@link reset}; the function stays usable). */
  dispose(): void {
    this.reset();
  }
}

/** Make `fn` a {@link Replayable}: captured on its first call, replayed on later calls with the same shapes. */
export function replayable<A extends readonly Tensor[], R>(
  fn: (...args: A) => R,
  options: ReplayOptions = {},
): Replayable<A, R> {
  if (typeof fn !== 'function')
    throw new ChainruleError('replayable', `expected a function, got ${typeof fn}`);
  return new Replayable((_variant: string, args: A) => fn(...args), options);
}

/**
 * A {@link Replayable} with branches: `fn(variant, ...args)` is told which branch the call
 * takes, so the caller decides it once (`call(args, variant)`) and each variant is
 * captured and replayed as its own plan. TD3's update takes `'actor'` on every second cycle.
 */
export function replayableVariants<V extends string, A extends readonly Tensor[], R>(
  fn: (variant: V, ...args: A) => R,
  options: ReplayOptions = {},
): Replayable<A, R, V> {
  if (typeof fn !== 'function')
    throw new ChainruleError('replayableVariants', `expected a function, got ${typeof fn}`);
  return new Replayable((variant: V, args: A) => fn(variant, ...args), options);
}

/** The values of a tensor, by bits (NaN equals NaN), read without a capture's read hook. */
function bytesOf_(t: Tensor): Uint8Array {
  const d = t.backend.read(t.storage, t.dtype, t.size);
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

function sameBits(a: Tensor, b: Tensor): boolean {
  const x = bytesOf_(a);
  const y = bytesOf_(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** A few of a tensor's values, for a message. */
function preview(t: Tensor): string {
  const d = t.backend.read(t.storage, t.dtype, t.size);
  const shown = Array.from(d.subarray(0, 4), (x) => String(x)).join(', ');
  return `[${shown}${d.length > 4 ? ', ...' : ''}]`;
}

/** Where two attribute values first differ (a dotted path and both values), if they do. */
function attrDiff(a: unknown, b: unknown, path: string): string | undefined {
  if (Object.is(a, b)) return undefined;
  const isList = (x: unknown): x is ArrayLike<unknown> => Array.isArray(x) || ArrayBuffer.isView(x);
  if (isList(a) && isList(b)) {
    if (a.length !== b.length) return `${path} has length ${a.length} in the replay, ${b.length} eagerly`;
    for (let i = 0; i < a.length; i++) {
      const d = attrDiff(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = attrDiff(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        path ? `${path}.${k}` : k,
      );
      if (d) return d;
    }
    return undefined;
  }
  return `attribute ${path} is ${String(a)} in the replay (frozen at capture), ${String(b)} eagerly: a JavaScript value that changes between calls; pass it as a tensor argument or a 0-d variable`;
}

const SLOT_WORDS: Record<SlotKind, string> = {
  argument: 'an argument',
  variable: 'a variable read at the start of the call',
  constant:
    'a constant of the capture (a JavaScript number passed to an op, or a tensor made from host data): a value that changes between calls must be a tensor argument or a 0-d variable',
  internal: 'an earlier kernel output',
};

/**
 * The first difference between a replay (the plan's steps, their views holding this
 * replay's values) and the eager run's recorded steps, as a message naming the kernel: its
 * index, op and shapes.
 */
function compareSteps(plan: Plan, eager: readonly Step[]): string | undefined {
  const shapes = (ts: readonly Tensor[]) => ts.map((t) => fmtShape(t.shape)).join(', ');
  let kernels = 0;
  for (let i = 0; i < Math.max(plan.steps.length, eager.length); i++) {
    const r = plan.steps[i];
    const e = eager[i];
    const name =
      r?.kind === 'kernel'
        ? `kernel ${kernels} (${r.op}: ${shapes(r.inputs)} -> ${shapes(r.outputs)})`
        : `step ${i} (an assign to a ${r ? fmtShape(r.variable.shape) : '?'} variable)`;
    if (!r || !e)
      return `the replay has ${plan.steps.length} steps and the eager run ${eager.length}; the first unmatched is ${r ? name : describeStep(e!)}`;
    if (r.kind !== e.kind || (r.kind === 'kernel' && e.kind === 'kernel' && r.op !== e.op))
      return `${name}: the eager run has ${describeStep(e)} here`;
    if (r.kind === 'kernel' && e.kind === 'kernel') {
      if (shapes(r.inputs) !== shapes(e.inputs) || shapes(r.outputs) !== shapes(e.outputs))
        return `${name}: the eager run's shapes are ${shapes(e.inputs)} -> ${shapes(e.outputs)}`;
      const d = attrDiff(r.attrs, e.attrs, '');
      if (d) return `${name}: ${d}`;
      for (const [j, t] of r.inputs.entries()) {
        if (!sameBits(t, e.inputs[j]!))
          return `${name}: input ${j} (${SLOT_WORDS[plan.kindOf(t) ?? 'internal']}) is ${preview(t)} in the replay, ${preview(e.inputs[j]!)} eagerly`;
      }
      for (const [j, t] of r.outputs.entries()) {
        if (!sameBits(t, e.outputs[j]!))
          return `${name}: output ${j} is ${preview(t)} in the replay, ${preview(e.outputs[j]!)} eagerly, from the same inputs`;
      }
      kernels++;
    } else if (r.kind === 'assign' && e.kind === 'assign') {
      if (r.variable !== e.variable) return `${name}: the eager run assigns another variable here`;
      if (!sameBits(r.value, e.value))
        return `${name}: the value assigned is ${preview(r.value)} in the replay, ${preview(e.value)} eagerly`;
    }
  }
  return undefined;
}

function describeStep(s: Step): string {
  return s.kind === 'kernel' ? `a ${s.op} kernel` : `an assign to a ${fmtShape(s.variable.shape)} variable`;
}
