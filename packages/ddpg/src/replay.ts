/**
 * The experience-replay buffer: a fixed-capacity ring of transitions stored in preallocated
 * typed arrays, sampled uniformly with replacement by a seeded {@link Rng}.
 *
 * Layout: one flat typed array per field (`obs`, `action`, `reward`, `nextObs`, `terminated`,
 * `truncated`), row `i` being the transition in slot `i`. Slots fill 0, 1, 2, ... and once the
 * buffer is full the next write overwrites the oldest slot (`nextIndex`), as the
 * `deque(maxlen=...)` of the reference implementations does, but without moving any data.
 *
 * `terminated` (the episode ended in a terminal state: no bootstrap) and `truncated` (a time
 * limit cut the episode: bootstrap from `nextObs` as usual) are stored separately; the Emami and
 * Morvan references fold both into one `done`/`terminal` flag, which wrongly stops
 * bootstrapping at time limits.
 *
 * @module
 */
import type { StateDict } from '@chainrule/nn';
import {
  ChainruleError,
  type DType,
  isDType,
  type Rng,
  type Tensor,
  type TypedArray,
  tensor,
} from '@chainrule/tensor';

/** One transition, as passed to {@link ReplayBuffer.add}. */
export interface Transition {
  /** The observation the action was taken in (length `obsDim`). */
  obs: ArrayLike<number>;
  /** The action taken (length `actDim`), after exploration noise and clipping. */
  action: ArrayLike<number>;
  /** The reward received. */
  reward: number;
  /** The observation after the step (length `obsDim`). */
  nextObs: ArrayLike<number>;
  /** The episode reached a terminal state (the target does not bootstrap). A boolean, or 0/1. */
  terminated: boolean | number;
  /** The episode was cut short (time limit); the target still bootstraps. A boolean, or 0/1. */
  truncated: boolean | number;
}

/** A sampled minibatch. The tensors are fresh copies; `indices` is a fresh array. */
export interface ReplayBatch {
  /** `[B, obsDim]` */
  obs: Tensor;
  /** `[B, actDim]` */
  action: Tensor;
  /** `[B, 1]` */
  reward: Tensor;
  /** `[B, obsDim]` */
  nextObs: Tensor;
  /** `[B, 1]`, 1 where the episode terminated, else 0. */
  terminated: Tensor;
  /** `[B, 1]`, 1 where the episode was truncated, else 0. */
  truncated: Tensor;
  /** The storage slot of each sampled row (see {@link ReplayBuffer.get}). */
  indices: Int32Array;
}

/** Alias of {@link ReplayBatch}. */
export type Batch = ReplayBatch;

/** Options for {@link ReplayBuffer}. */
export interface ReplayBufferOptions {
  /** Storage and batch dtype (default `'float32'`). */
  dtype?: DType;
}

/**
 * A serialisable snapshot of a buffer: the filled rows in slot order plus string metadata, the
 * form written to safetensors by `saveReplayBuffer` (`@chainrule/ddpg-node`).
 */
export interface ReplayBufferState {
  /** `obs [size, obsDim]`, `action [size, actDim]`, `reward`, `terminated`, `truncated` `[size]`, `nextObs [size, obsDim]`. */
  tensors: StateDict;
  /** `format`, `version`, `dtype`, `capacity`, `obsDim`, `actDim`, `size`, `nextIndex`, all strings. */
  metadata: Record<string, string>;
}

const FORMAT = 'chainrule.ReplayBuffer';
const VERSION = '1';
const FIELDS = ['obs', 'action', 'reward', 'nextObs', 'terminated', 'truncated'] as const;

function alloc(dtype: DType, n: number): TypedArray {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

function checkPositiveInt(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ChainruleError(op, `${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * A fixed-capacity ring buffer of transitions.
 *
 * @example
 * ```ts
 * const buf = new ReplayBuffer(100_000, 3, 1);
 * buf.add({ obs, action, reward, nextObs, terminated: false, truncated: false });
 * const batch = buf.sample(64, rng); // batch.obs: Tensor [64, 3]
 * ```
 */
export class ReplayBuffer {
  /** The maximum number of transitions kept. */
  readonly capacity: number;
  /** The observation length. */
  readonly obsDim: number;
  /** The action length. */
  readonly actDim: number;
  /** The storage and batch dtype. */
  readonly dtype: DType;

  private readonly obsBuf: TypedArray;
  private readonly actBuf: TypedArray;
  private readonly rewBuf: TypedArray;
  private readonly nextObsBuf: TypedArray;
  private readonly termBuf: TypedArray;
  private readonly truncBuf: TypedArray;
  private _size = 0;
  private _next = 0;

  // Reusable batch arrays, grown on demand (tensor() copies, so reuse is safe).
  private batchCap = 0;
  private bObs: TypedArray;
  private bAct: TypedArray;
  private bRew: TypedArray;
  private bNextObs: TypedArray;
  private bTerm: TypedArray;
  private bTrunc: TypedArray;

  /**
   * @param capacity the maximum number of transitions (a positive integer).
   * @param obsDim the observation length.
   * @param actDim the action length.
   * @param options `dtype` (default `'float32'`).
   */
  constructor(capacity: number, obsDim: number, actDim: number, options: ReplayBufferOptions = {}) {
    const op = 'ReplayBuffer';
    this.capacity = checkPositiveInt(op, 'capacity', capacity);
    this.obsDim = checkPositiveInt(op, 'obsDim', obsDim);
    this.actDim = checkPositiveInt(op, 'actDim', actDim);
    const dtype = options.dtype ?? 'float32';
    if (!isDType(dtype)) {
      throw new ChainruleError(op, `unknown dtype ${JSON.stringify(dtype)}; expected 'float32' or 'float64'`);
    }
    this.dtype = dtype;
    this.obsBuf = alloc(dtype, capacity * obsDim);
    this.actBuf = alloc(dtype, capacity * actDim);
    this.rewBuf = alloc(dtype, capacity);
    this.nextObsBuf = alloc(dtype, capacity * obsDim);
    this.termBuf = alloc(dtype, capacity);
    this.truncBuf = alloc(dtype, capacity);
    this.bObs = alloc(dtype, 0);
    this.bAct = alloc(dtype, 0);
    this.bRew = alloc(dtype, 0);
    this.bNextObs = alloc(dtype, 0);
    this.bTerm = alloc(dtype, 0);
    this.bTrunc = alloc(dtype, 0);
  }

  /** The number of stored transitions (at most `capacity`). */
  get size(): number {
    return this._size;
  }

  /** The slot the next {@link ReplayBuffer.add} writes (the oldest transition once full). */
  get nextIndex(): number {
    return this._next;
  }

  /** True once `size === capacity`. */
  get isFull(): boolean {
    return this._size === this.capacity;
  }

  /**
   * Store a transition, overwriting the oldest one when full. Every field is validated first
   * (lengths, finite numbers, flags); on error nothing is written.
   * @throws {ChainruleError} naming the offending field, e.g. `ReplayBuffer.add: obs[2] is NaN`.
   */
  add(t: Transition): void {
    const op = 'ReplayBuffer.add';
    if (t === null || typeof t !== 'object') {
      throw new ChainruleError(
        op,
        `expected a transition { obs, action, reward, nextObs, terminated, truncated }, got ${String(t)}`,
      );
    }
    this.checkVector(op, 'obs', t.obs, this.obsDim);
    this.checkVector(op, 'action', t.action, this.actDim);
    this.checkNumber(op, 'reward', t.reward);
    this.checkVector(op, 'nextObs', t.nextObs, this.obsDim);
    const term = checkFlag(op, 'terminated', t.terminated);
    const trunc = checkFlag(op, 'truncated', t.truncated);

    const i = this._next;
    const od = this.obsDim;
    const ad = this.actDim;
    for (let k = 0; k < od; k++) {
      this.obsBuf[i * od + k] = t.obs[k]!;
      this.nextObsBuf[i * od + k] = t.nextObs[k]!;
    }
    for (let k = 0; k < ad; k++) this.actBuf[i * ad + k] = t.action[k]!;
    this.rewBuf[i] = t.reward;
    this.termBuf[i] = term;
    this.truncBuf[i] = trunc;
    this._next = (i + 1) % this.capacity;
    if (this._size < this.capacity) this._size++;
  }

  private checkNumber(op: string, name: string, v: unknown): void {
    if (typeof v !== 'number') {
      throw new ChainruleError(op, `${name} must be a finite number, got ${typeof v} ${String(v)}`);
    }
    if (!Number.isFinite(v)) throw new ChainruleError(op, `${name} is ${v}; expected a finite number`);
    if (this.dtype === 'float32' && !Number.isFinite(Math.fround(v))) {
      throw new ChainruleError(op, `${name} is ${v}, which overflows float32 (the buffer's dtype)`);
    }
  }

  private checkVector(op: string, name: string, v: unknown, n: number): void {
    if (v === null || typeof v !== 'object' || typeof (v as ArrayLike<number>).length !== 'number') {
      throw new ChainruleError(
        op,
        `${name} must be an array or typed array of length ${n}, got ${v === null ? 'null' : typeof v}`,
      );
    }
    const arr = v as ArrayLike<unknown>;
    if (arr.length !== n) {
      throw new ChainruleError(op, `${name} has length ${arr.length}; expected ${n}`);
    }
    for (let k = 0; k < n; k++) this.checkNumber(op, `${name}[${k}]`, arr[k]);
  }

  /**
   * Sample `batchSize` transitions uniformly with replacement: `batchSize` calls of
   * `rng.int(size)`, in order, each giving a storage slot. The same rng state and buffer
   * contents give the same batch.
   * @throws {ChainruleError} if the buffer is empty or `batchSize > size`.
   */
  sample(batchSize: number, rng: Rng): ReplayBatch {
    const op = 'ReplayBuffer.sample';
    checkPositiveInt(op, 'batchSize', batchSize);
    if (this._size === 0) throw new ChainruleError(op, 'the buffer is empty; add transitions first');
    if (batchSize > this._size) {
      throw new ChainruleError(
        op,
        `batchSize ${batchSize} is larger than the number of stored transitions (${this._size})`,
      );
    }
    if (rng === null || typeof rng !== 'object' || typeof rng.int !== 'function') {
      throw new ChainruleError(op, 'a seeded Rng is required');
    }
    this.ensureBatch(batchSize);
    const B = batchSize;
    const od = this.obsDim;
    const ad = this.actDim;
    const indices = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const i = rng.int(this._size);
      indices[b] = i;
      this.bObs.set(this.obsBuf.subarray(i * od, (i + 1) * od), b * od);
      this.bNextObs.set(this.nextObsBuf.subarray(i * od, (i + 1) * od), b * od);
      this.bAct.set(this.actBuf.subarray(i * ad, (i + 1) * ad), b * ad);
      this.bRew[b] = this.rewBuf[i]!;
      this.bTerm[b] = this.termBuf[i]!;
      this.bTrunc[b] = this.truncBuf[i]!;
    }
    const dtype = this.dtype;
    return {
      obs: tensor(this.bObs.subarray(0, B * od), { shape: [B, od], dtype }),
      action: tensor(this.bAct.subarray(0, B * ad), { shape: [B, ad], dtype }),
      reward: tensor(this.bRew.subarray(0, B), { shape: [B, 1], dtype }),
      nextObs: tensor(this.bNextObs.subarray(0, B * od), { shape: [B, od], dtype }),
      terminated: tensor(this.bTerm.subarray(0, B), { shape: [B, 1], dtype }),
      truncated: tensor(this.bTrunc.subarray(0, B), { shape: [B, 1], dtype }),
      indices,
    };
  }

  private ensureBatch(B: number): void {
    if (B <= this.batchCap) return;
    const d = this.dtype;
    this.bObs = alloc(d, B * this.obsDim);
    this.bAct = alloc(d, B * this.actDim);
    this.bRew = alloc(d, B);
    this.bNextObs = alloc(d, B * this.obsDim);
    this.bTerm = alloc(d, B);
    this.bTrunc = alloc(d, B);
    this.batchCap = B;
  }

  /**
   * A copy of the transition in storage slot `index` (`0 <= index < size`), with `terminated`
   * and `truncated` as booleans. Slots are physical: once the buffer has wrapped, slot
   * `nextIndex` holds the oldest transition.
   */
  get(index: number): {
    obs: number[];
    action: number[];
    reward: number;
    nextObs: number[];
    terminated: boolean;
    truncated: boolean;
  } {
    if (!Number.isInteger(index) || index < 0 || index >= this._size) {
      throw new ChainruleError(
        'ReplayBuffer.get',
        `index must be an integer in [0, ${this._size}), got ${index}`,
      );
    }
    const od = this.obsDim;
    const ad = this.actDim;
    return {
      obs: Array.from(this.obsBuf.subarray(index * od, (index + 1) * od)),
      action: Array.from(this.actBuf.subarray(index * ad, (index + 1) * ad)),
      reward: this.rewBuf[index]!,
      nextObs: Array.from(this.nextObsBuf.subarray(index * od, (index + 1) * od)),
      terminated: this.termBuf[index] === 1,
      truncated: this.truncBuf[index] === 1,
    };
  }

  /** Remove every transition (the storage is zeroed; capacity and dims are kept). */
  clear(): void {
    for (const a of [this.obsBuf, this.actBuf, this.rewBuf, this.nextObsBuf, this.termBuf, this.truncBuf]) {
      a.fill(0);
    }
    this._size = 0;
    this._next = 0;
  }

  /**
   * A snapshot: the filled rows (slots `0 .. size-1`, in slot order) as tensors, and the
   * capacity, dims, size and next index as string metadata. {@link ReplayBuffer.setState}
   * restores the ring exactly, so later sampling matches sampling from the original.
   */
  getState(): ReplayBufferState {
    const n = this._size;
    const od = this.obsDim;
    const ad = this.actDim;
    const dtype = this.dtype;
    return {
      tensors: {
        obs: tensor(this.obsBuf.subarray(0, n * od), { shape: [n, od], dtype }),
        action: tensor(this.actBuf.subarray(0, n * ad), { shape: [n, ad], dtype }),
        reward: tensor(this.rewBuf.subarray(0, n), { shape: [n], dtype }),
        nextObs: tensor(this.nextObsBuf.subarray(0, n * od), { shape: [n, od], dtype }),
        terminated: tensor(this.termBuf.subarray(0, n), { shape: [n], dtype }),
        truncated: tensor(this.truncBuf.subarray(0, n), { shape: [n], dtype }),
      },
      metadata: {
        format: FORMAT,
        version: VERSION,
        dtype,
        capacity: String(this.capacity),
        obsDim: String(this.obsDim),
        actDim: String(this.actDim),
        size: String(n),
        nextIndex: String(this._next),
      },
    };
  }

  /**
   * Restore a {@link ReplayBuffer.getState} snapshot into this buffer. The snapshot's capacity,
   * dims and dtype must match this buffer's. Everything is validated before anything changes.
   */
  setState(state: ReplayBufferState): void {
    const op = 'ReplayBuffer.setState';
    const meta = parseMetadata(op, state);
    if (
      meta.capacity !== this.capacity ||
      meta.obsDim !== this.obsDim ||
      meta.actDim !== this.actDim ||
      meta.dtype !== this.dtype
    ) {
      throw new ChainruleError(
        op,
        `the snapshot is for capacity ${meta.capacity}, obsDim ${meta.obsDim}, actDim ${meta.actDim}, ${meta.dtype}; ` +
          `this buffer has capacity ${this.capacity}, obsDim ${this.obsDim}, actDim ${this.actDim}, ${this.dtype}`,
      );
    }
    const n = meta.size;
    const expected: Record<(typeof FIELDS)[number], number[]> = {
      obs: [n, this.obsDim],
      action: [n, this.actDim],
      reward: [n],
      nextObs: [n, this.obsDim],
      terminated: [n],
      truncated: [n],
    };
    const data: Partial<Record<(typeof FIELDS)[number], TypedArray>> = {};
    for (const f of FIELDS) {
      const t = state.tensors[f];
      if (!t) throw new ChainruleError(op, `missing tensor "${f}"`);
      const shape = expected[f];
      if (
        t.shape.length !== shape.length ||
        t.shape.some((d, k) => d !== shape[k]) ||
        t.dtype !== this.dtype
      ) {
        throw new ChainruleError(
          op,
          `tensor "${f}" is ${t.dtype} [${t.shape.join(',')}]; expected ${this.dtype} [${shape.join(',')}]`,
        );
      }
      const d = t.dataSync();
      if (f === 'terminated' || f === 'truncated') {
        for (let k = 0; k < d.length; k++) {
          if (d[k] !== 0 && d[k] !== 1)
            throw new ChainruleError(op, `${f}[${k}] is ${d[k]}; expected 0 or 1`);
        }
      }
      data[f] = d;
    }
    this.clear();
    this.obsBuf.set(data.obs!);
    this.actBuf.set(data.action!);
    this.rewBuf.set(data.reward!);
    this.nextObsBuf.set(data.nextObs!);
    this.termBuf.set(data.terminated!);
    this.truncBuf.set(data.truncated!);
    this._size = n;
    this._next = meta.nextIndex;
  }

  /**
   * Make this buffer an exact copy of `other` (contents, size and next index), which must have
   * the same capacity, dims and dtype, e.g. `agent.replay.copyFrom(loadReplayBuffer(path))`.
   */
  copyFrom(other: ReplayBuffer): void {
    if (
      !(other instanceof ReplayBuffer) ||
      other.capacity !== this.capacity ||
      other.obsDim !== this.obsDim ||
      other.actDim !== this.actDim ||
      other.dtype !== this.dtype
    ) {
      const desc =
        other instanceof ReplayBuffer
          ? `capacity ${other.capacity}, obsDim ${other.obsDim}, actDim ${other.actDim}, ${other.dtype}`
          : String(other);
      throw new ChainruleError(
        'ReplayBuffer.copyFrom',
        `the source has ${desc}; this buffer has capacity ${this.capacity}, obsDim ${this.obsDim}, actDim ${this.actDim}, ${this.dtype}`,
      );
    }
    if (other === this) return;
    this.obsBuf.set(other.obsBuf);
    this.actBuf.set(other.actBuf);
    this.rewBuf.set(other.rewBuf);
    this.nextObsBuf.set(other.nextObsBuf);
    this.termBuf.set(other.termBuf);
    this.truncBuf.set(other.truncBuf);
    this._size = other._size;
    this._next = other._next;
  }

  /** A new buffer holding a {@link ReplayBuffer.getState} snapshot. */
  static fromState(state: ReplayBufferState): ReplayBuffer {
    const meta = parseMetadata('ReplayBuffer.fromState', state);
    const buf = new ReplayBuffer(meta.capacity, meta.obsDim, meta.actDim, { dtype: meta.dtype });
    buf.setState(state);
    return buf;
  }
}

function checkFlag(op: string, name: string, v: unknown): 0 | 1 {
  if (v === true || v === 1) return 1;
  if (v === false || v === 0) return 0;
  throw new ChainruleError(op, `${name} must be a boolean (or 0/1), got ${typeof v} ${String(v)}`);
}

interface ParsedMeta {
  capacity: number;
  obsDim: number;
  actDim: number;
  size: number;
  nextIndex: number;
  dtype: DType;
}

function parseMetadata(op: string, state: ReplayBufferState): ParsedMeta {
  if (state === null || typeof state !== 'object' || !state.metadata || !state.tensors) {
    throw new ChainruleError(op, 'expected { tensors, metadata } as produced by ReplayBuffer.getState()');
  }
  const m = state.metadata;
  if (m.format !== FORMAT) {
    throw new ChainruleError(op, `metadata.format is ${JSON.stringify(m.format)}; expected "${FORMAT}"`);
  }
  if (m.version !== VERSION) {
    throw new ChainruleError(op, `metadata.version is ${JSON.stringify(m.version)}; expected "${VERSION}"`);
  }
  const int = (key: string, min: number): number => {
    const s = m[key];
    const v = s !== undefined && /^\d+$/.test(s) ? Number(s) : Number.NaN;
    if (!Number.isSafeInteger(v) || v < min) {
      throw new ChainruleError(op, `metadata.${key} is ${JSON.stringify(s)}; expected an integer >= ${min}`);
    }
    return v;
  };
  const capacity = int('capacity', 1);
  const obsDim = int('obsDim', 1);
  const actDim = int('actDim', 1);
  const size = int('size', 0);
  const nextIndex = int('nextIndex', 0);
  if (!isDType(m.dtype)) {
    throw new ChainruleError(op, `metadata.dtype is ${JSON.stringify(m.dtype)}; expected float32 or float64`);
  }
  if (size > capacity) throw new ChainruleError(op, `metadata.size ${size} exceeds capacity ${capacity}`);
  // While filling, the next slot is `size`; once full it can be any slot.
  if (size < capacity ? nextIndex !== size : nextIndex >= capacity) {
    throw new ChainruleError(
      op,
      `metadata.nextIndex ${nextIndex} is inconsistent with size ${size} and capacity ${capacity}`,
    );
  }
  return { capacity, obsDim, actDim, size, nextIndex, dtype: m.dtype };
}
