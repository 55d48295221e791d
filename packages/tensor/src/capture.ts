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
 * **What it repeats.** The kernels, in order, with the attributes they were given (a
 * JavaScript number passed to an op becomes a constant of the capture); the
 * `assign()`s to variables (parameters, optimiser moments, running statistics); and the
 * callbacks registered with {@link hostStep}, for JavaScript state that must change on
 * every call (an optimiser's step count). It reads the arguments and the variables' values
 * anew on every call, so the results are bit for bit those of the eager function.
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
      readonly fn: KernelFunc;
      readonly inputs: Tensor[];
      readonly outputs: Tensor[];
      readonly attrs: unknown;
    }
  | { readonly kind: 'host'; readonly fn: () => void }
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

  kernel(fn: KernelFunc, inputs: readonly Tensor[], outputs: readonly Tensor[], attrs: unknown): void {
    if (this.failure) return;
    const ins = inputs.map((t) => this.view(t));
    const outs = outputs.map((t) => {
      if (this.byStorage.has(t.storage)) this.fail('a kernel wrote into a buffer it did not allocate');
      this.addSlot(t.storage, { kind: 'internal', dtype: t.dtype, size: t.size });
      return this.view(t);
    });
    this.steps.push({ kind: 'kernel', fn, inputs: ins, outputs: outs, attrs });
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

  host(fn: () => void): void {
    if (!this.failure) this.steps.push({ kind: 'host', fn });
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
      else if (step.kind === 'assign') step.variable.assign(step.value);
      else step.fn();
    }
    this.replays++;
    return build(this.result);
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
 * `poison` replays with the `poison` check on (see {@link ReplayOptions.poison}).
 */
function replayEnv(): 'on' | 'off' | 'poison' {
  const v = envVar('CHAINRULE_REPLAY');
  if (v === undefined || v === '' || v === '1') return 'on';
  if (v === '0') return 'off';
  if (v === 'poison') return 'poison';
  throw new ChainruleError('CHAINRULE_REPLAY', `expected 0, 1 or poison, got ${JSON.stringify(v)}`);
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
export class Replayable<A extends readonly Tensor[], R> {
  readonly name: string;
  readonly enabled: boolean;
  private readonly plans = new Map<string, Plan | { eager: string }>();
  private readonly warm = new Map<string, number>();
  private readonly warmup: number;
  private readonly poison: boolean;
  private counts = { captures: 0, eagerCalls: 0, replays: 0 };
  private eagerReason: string | undefined;
  private epoch = captureEpoch();

  constructor(
    private readonly fn: (...args: A) => R,
    options: ReplayOptions = {},
  ) {
    if (typeof fn !== 'function')
      throw new ChainruleError('replayable', `expected a function, got ${typeof fn}`);
    this.name = options.name ?? 'replayable';
    const env = replayEnv();
    this.enabled = options.enabled ?? env !== 'off';
    this.poison = options.poison ?? env === 'poison';
    dropped.register(this, this.plans, this);
    this.warmup = options.warmup ?? 1;
    if (!Number.isInteger(this.warmup) || this.warmup < 0)
      throw new ChainruleError(this.name, `warmup must be an integer >= 0, got ${options.warmup}`);
  }

  /**
   * Call the function with `args`. The first call for these argument shapes (and `variant`)
   * runs eagerly and is captured; later ones replay the capture. `variant` names a branch of
   * the function's JavaScript (for example `'actor'` on the steps that also update the actor).
   */
  call(args: A, variant = ''): R {
    const backend = getBackend();
    const key = this.key(backend, args, variant);
    if (this.epoch !== captureEpoch()) this.reset(); // a variable was replaced: plans may be stale
    const entry = this.plans.get(key);
    if (entry instanceof Plan) {
      if (activeRecorder()) return this.eager(args); // inside another capture: let it record the kernels
      if (entry.valid(this.name)) return entry.run(args) as R;
      this.retire(key, entry);
      return this.capture(key, getBackend(), args);
    }
    if (entry || !this.enabled || activeRecorder()) return this.eager(args);
    const warmed = this.warm.get(key) ?? 0;
    if (warmed < this.warmup) {
      this.warm.set(key, warmed + 1);
      return this.eager(args);
    }
    if (!backend.replayable) {
      this.noteEager(key, `the ${backend.name} backend does not support replay`);
      return this.eager(args);
    }
    return this.capture(key, backend, args);
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

  private eager(args: A): R {
    this.counts.eagerCalls++;
    return tidy(() => this.fn(...args));
  }

  private noteEager(key: string, reason: string): void {
    this.plans.set(key, { eager: reason });
    this.eagerReason = reason;
    debugLog(`${this.name}: runs eagerly because ${reason}`);
  }

  private capture(key: string, backend: Backend, args: A): R {
    const recording = new Recording(backend, args);
    const previous = setRecorder(recording);
    let result: R;
    try {
      result = tidy(() => this.fn(...args));
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
  return new Replayable(fn, options);
}

/**
 * Run `fn` now and, inside a capture, at this point of every replay too: for JavaScript
 * state that must change on each call of a replayed function (an optimiser's step count,
 * read by a later kernel's attributes). Outside a capture it simply calls `fn`.
 */
export function hostStep(fn: () => void): void {
  fn();
  activeRecorder()?.host(fn);
}
