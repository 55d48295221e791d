/**
 * The Tensor: a shape, a dtype and contiguous row-major storage owned by a backend.
 *
 * Memory (see docs/memory.md): a tensor made inside `tidy()` is released when the scope
 * returns, unless the scope returns it or it is a **variable** (`keep()`). A variable is a
 * long-lived tensor (a parameter, a running statistic, an optimiser moment): no scope
 * releases it, and `assign()` swaps its storage in place. A tensor owned by no scope is
 * released by `dispose()`, or when it is garbage-collected (a FinalizationRegistry: a
 * safety net whose callbacks run only between tasks, never inside a synchronous loop).
 * @module
 */
import { type Backend, getBackend, type Storage } from './backend.ts';
import { noteAssign, noteRead } from './capture-hooks.ts';
import { bytesPerElement, type DType, type TypedArray } from './dtype.ts';
import { ChainruleError, fmtShape } from './errors.ts';
import { trackTensor } from './scope.ts';
import { type Shape, shapesEqual, sizeOf } from './shape.ts';

/** Live-tensor counters of one backend, kept by every tensor (for `memory()`). */
export interface TensorCounters {
  /** Tensors not yet disposed (or garbage-collected). */
  numTensors: number;
  /** Distinct storages behind them (a `reshape` view shares its source's storage). */
  numDataBuffers: number;
  /** Bytes of element data in those storages. */
  numBytes: number;
  /** Live tensors that are variables. */
  numVariables: number;
}

const counters = new Map<Backend, TensorCounters>();

function countersOf(backend: Backend): TensorCounters {
  let c = counters.get(backend);
  if (!c) {
    c = { numTensors: 0, numDataBuffers: 0, numBytes: 0, numVariables: 0 };
    counters.set(backend, c);
  }
  return c;
}

/** @internal The counters of every backend that has held a tensor (read by `memory()`). */
export function tensorCounters(): ReadonlyMap<Backend, Readonly<TensorCounters>> {
  return counters;
}

/** Take one reference to `s`; the first reference counts its bytes. */
export function acquire(s: Storage, bytes: number): void {
  if (s.refs++ === 0) {
    const c = countersOf(s.backend);
    c.numDataBuffers++;
    c.numBytes += bytes;
  }
}

/** Drop one reference to `s`; the last one frees it. */
export function release(s: Storage, bytes: number): void {
  if (--s.refs === 0) {
    const c = countersOf(s.backend);
    c.numDataBuffers--;
    c.numBytes -= bytes;
    s.backend.free(s);
  }
}

/** The variable that most recently took each storage (for the replay layer; see {@link variableHolding}). */
const holders = new WeakMap<Storage, Tensor>();

/**
 * @internal The variable whose value `s` is now, if any: how the replay layer tells a
 * parameter seen through a `reshape` view from a constant.
 */
export function variableHolding(s: Storage): Tensor | undefined {
  const v = holders.get(s);
  return v && !v.isDisposed && v.storage === s ? v : undefined;
}

/** What the garbage-collection fallback needs to release a tensor that was never disposed. */
interface GcRecord {
  storage: Storage;
  readonly bytes: number;
  variable: boolean;
}

/**
 * The fallback for tensors that no scope owns and nobody disposed. Its callbacks run only
 * after a garbage collection and only between tasks, so a synchronous loop never sees them:
 * it is a safety net for forgotten tensors, not a memory manager (use `tidy`).
 */
const finalizer = new FinalizationRegistry<GcRecord>((r) => {
  const c = countersOf(r.storage.backend);
  c.numTensors--;
  if (r.variable) c.numVariables--;
  release(r.storage, r.bytes);
});

/** Nested arrays of numbers, as `toArray()` returns and `tensor()` accepts. */
export type NestedArray = number | NestedArray[];

/**
 * An n-dimensional array of float32 or float64 numbers. Tensors are immutable values:
 * ops return new tensors. Storage is owned by a backend and may be shared (`reshape`).
 * A variable (`keep()`) is the one exception: `assign()` gives it a new value in place.
 */
export class Tensor {
  /** The dimensions, outermost first. `[]` is a scalar. */
  readonly shape: readonly number[];
  /** The element type. */
  readonly dtype: DType;
  /** The number of elements. */
  readonly size: number;
  /** The number of dimensions. */
  readonly rank: number;
  private _storage: Storage | undefined;
  private _variable = false;
  private _version = 0;
  /** Set while the garbage-collection fallback owns this tensor (no scope does). */
  private _gc: GcRecord | undefined;

  /**
   * Wrap existing storage. Most code should use `tensor()`, `zeros()` and the ops instead.
   * The tensor takes one reference to the storage and belongs to the innermost `tidy` scope.
   */
  constructor(shape: Shape, dtype: DType, storage: Storage) {
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this.rank = shape.length;
    this._storage = storage;
    acquire(storage, this.size * bytesPerElement(dtype));
    countersOf(storage.backend).numTensors++;
    if (!trackTensor(this)) this.releaseOnGC();
  }

  /** Allocate a zero-filled tensor on `backend` (default: the active backend). */
  static empty(shape: Shape, dtype: DType, backend: Backend = getBackend()): Tensor {
    if (!backend.supportsDType(dtype)) {
      throw new ChainruleError(
        'tensor',
        `the ${backend.name} backend does not support dtype ${dtype}; use another backend or dtype`,
      );
    }
    return new Tensor(shape, dtype, backend.alloc(dtype, sizeOf(shape)));
  }

  /** A tensor holding a copy of `data` on `backend` (default: the active backend). */
  static fromTyped(data: TypedArray, shape: Shape, backend: Backend = getBackend()): Tensor {
    const dtype: DType = data instanceof Float64Array ? 'float64' : 'float32';
    if (!backend.supportsDType(dtype)) {
      throw new ChainruleError(
        'tensor',
        `the ${backend.name} backend does not support dtype ${dtype}; use another backend or dtype`,
      );
    }
    return new Tensor(shape, dtype, backend.fromTyped(data));
  }

  /** The backend storage. Throws if the tensor was disposed. Backends use this; user code should not. */
  get storage(): Storage {
    if (!this._storage) {
      throw new ChainruleError(
        'Tensor',
        `this ${this.dtype} tensor of shape ${fmtShape(this.shape)} was disposed${this._variable ? '' : DISPOSED_HINT}`,
      );
    }
    return this._storage;
  }

  /** The backend that owns the storage. */
  get backend(): Backend {
    return this.storage.backend;
  }

  /** True once `dispose()` has run. */
  get isDisposed(): boolean {
    return this._storage === undefined;
  }

  /** True for a variable (`keep()`): no scope releases it, and `assign()` updates it in place. */
  get isVariable(): boolean {
    return this._variable;
  }

  /** How many times `assign()` has changed this tensor's value (0 for every other tensor). */
  get version(): number {
    return this._version;
  }

  /**
   * Give this variable the value of `value`, in place: the object stays the same (modules,
   * optimisers and graphs that hold it see the new value) and its old storage is released.
   * Storage is immutable, so the variable shares `value`'s storage rather than copying it;
   * `value` itself stays usable and is released as usual (by its scope or `dispose()`).
   * @throws ChainruleError unless this is a live variable and `value` a live tensor of the
   *   same shape and dtype.
   */
  assign(value: Tensor): this {
    if (!this._variable) {
      throw new ChainruleError(
        'assign',
        `only a variable can be assigned, and this ${this.dtype} tensor of shape ${fmtShape(this.shape)} is not one; make it one with keep(t) when you create it`,
      );
    }
    const old = this.storage;
    if (value.isDisposed) {
      throw new ChainruleError(
        'assign',
        `the new value (${value.dtype} ${fmtShape(value.shape)}) was disposed`,
      );
    }
    if (!shapesEqual(value.shape, this.shape) || value.dtype !== this.dtype) {
      throw new ChainruleError(
        'assign',
        `expected a ${this.dtype} tensor of shape ${fmtShape(this.shape)}, got ${value.dtype} ${fmtShape(value.shape)}`,
      );
    }
    let next = value.storage;
    noteAssign(this, value);
    if (next === old) return this;
    // A variable stays on its backend: a value computed elsewhere is copied over.
    if (next.backend !== old.backend) next = old.backend.fromTyped(value.dataSync());
    const bytes = this.size * bytesPerElement(this.dtype);
    acquire(next, bytes);
    this._storage = next;
    holders.set(next, this);
    if (this._gc) this._gc.storage = next;
    this._version++;
    release(old, bytes);
    return this;
  }

  /** @internal Make this tensor a variable (see `keep()`). */
  markVariable(): void {
    if (this._variable || !this._storage) return;
    this._variable = true;
    holders.set(this._storage, this);
    countersOf(this._storage.backend).numVariables++;
    if (this._gc) this._gc.variable = true;
    else this.releaseOnGC();
  }

  /**
   * @internal Hand this tensor to the garbage-collection fallback: it belongs to no scope
   * (made outside every `tidy`, returned out of the outermost one, or a variable).
   */
  releaseOnGC(): void {
    if (this._gc || !this._storage) return;
    this._gc = {
      storage: this._storage,
      bytes: this.size * bytesPerElement(this.dtype),
      variable: this._variable,
    };
    finalizer.register(this, this._gc, this);
  }

  /** A copy of the elements as a typed array (Float32Array or Float64Array), row-major. */
  dataSync(): TypedArray {
    noteRead(this);
    return this.storage.backend.read(this.storage, this.dtype, this.size);
  }

  /** The elements as nested arrays of numbers (a number for a scalar). */
  toArray(): NestedArray {
    const data = this.dataSync();
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.rank) return data[offset]!;
      const n = this.shape[dim]!;
      let stride = 1;
      for (let i = dim + 1; i < this.rank; i++) stride *= this.shape[i]!;
      const out: NestedArray[] = [];
      for (let i = 0; i < n; i++) out.push(build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** The single element of a one-element tensor, as a number. */
  item(): number {
    if (this.size !== 1) {
      throw new ChainruleError(
        'item',
        `expected a tensor with one element, got shape ${fmtShape(this.shape)}`,
      );
    }
    return this.dataSync()[0]!;
  }

  /** A view with a new shape of the same size, sharing storage. One dimension may be -1. */
  reshape(shape: Shape): Tensor {
    return new Tensor(inferReshape('reshape', this.shape, shape), this.dtype, this.storage);
  }

  /** Release this tensor's reference to its storage (a variable too). Using it afterwards is an error. */
  dispose(): void {
    const s = this._storage;
    if (!s) return;
    this._storage = undefined;
    if (this._gc) {
      finalizer.unregister(this);
      this._gc = undefined;
    }
    const c = countersOf(s.backend);
    c.numTensors--;
    if (this._variable) c.numVariables--;
    release(s, this.size * bytesPerElement(this.dtype));
  }

  /** A readable rendering: dtype, shape and values (long dimensions are elided with `...`). */
  toString(): string {
    if (this.isDisposed) return `Tensor(${this.dtype}, ${fmtShape(this.shape)}, disposed)`;
    return `Tensor(${this.dtype}, ${fmtShape(this.shape)})\n${formatValues(this.dataSync(), this.shape)}`;
  }
}

/**
 * @internal A tensor object for the replay layer (capture.ts): it belongs to no scope,
 * takes no reference to its storage and is not counted by `memory()`. The replay plan
 * holds the storage and points the view at a new one with {@link rebindView}.
 */
export function makeView(shape: Shape, dtype: DType, storage: Storage): Tensor {
  const t = Object.create(Tensor.prototype) as Tensor;
  const fields = t as unknown as Record<string, unknown>;
  fields.shape = Object.freeze([...shape]);
  fields.dtype = dtype;
  fields.size = sizeOf(shape);
  fields.rank = shape.length;
  fields._storage = storage;
  fields._variable = false;
  fields._version = 0;
  fields._gc = undefined;
  return t;
}

/** @internal Point a {@link makeView} tensor at another storage. */
export function rebindView(t: Tensor, storage: Storage): void {
  (t as unknown as { _storage: Storage })._storage = storage;
}

const DISPOSED_HINT =
  ' (a tensor made inside tidy() is released when the scope returns unless the scope returns it; make long-lived tensors variables with keep() and update them with assign())';

/**
 * Make `t` a **variable**, a long-lived tensor such as a parameter, a running statistic or
 * an optimiser moment: no `tidy` scope releases it, and `t.assign(value)` replaces its value
 * in place. Like tfjs's `tf.variable`/`tf.keep`. Returns `t`. Release it with `dispose()`
 * (or let it be garbage-collected) when it is no longer needed.
 */
export function keep<T extends Tensor>(t: T): T {
  if (t.isDisposed)
    throw new ChainruleError('keep', `this ${t.dtype} tensor of shape ${fmtShape(t.shape)} was disposed`);
  t.markVariable();
  return t;
}

/** Resolve a requested reshape (with at most one -1) against a source shape. */
export function inferReshape(op: string, from: Shape, to: Shape): number[] {
  const size = sizeOf(from);
  const out = [...to];
  let inferred = -1;
  let known = 1;
  for (let i = 0; i < out.length; i++) {
    const d = out[i]!;
    if (d === -1) {
      if (inferred >= 0) throw new ChainruleError(op, `only one dimension may be -1, got ${fmtShape(to)}`);
      inferred = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new ChainruleError(
        op,
        `invalid dimension ${d} in ${fmtShape(to)}; expected non-negative integers or -1`,
      );
    } else known *= d;
  }
  if (inferred >= 0) {
    if (known === 0 || size % known !== 0) {
      throw new ChainruleError(op, `cannot reshape ${fmtShape(from)} (${size} elements) to ${fmtShape(to)}`);
    }
    out[inferred] = size / known;
  } else if (known !== size) {
    throw new ChainruleError(
      op,
      `cannot reshape ${fmtShape(from)} (${size} elements) to ${fmtShape(to)} (${known} elements); sizes must match`,
    );
  }
  return out;
}

function fmtNumber(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e6)) return v.toExponential(4);
  return String(Number(v.toPrecision(6)));
}

function formatValues(data: TypedArray, shape: Shape): string {
  const edge = 3;
  const rank = shape.length;
  if (rank === 0) return fmtNumber(data[0]!);
  const strides: number[] = [];
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  const rec = (dim: number, offset: number, indent: string): string => {
    const n = shape[dim]!;
    const idx: (number | null)[] = [];
    if (n > 2 * edge + 1) {
      for (let i = 0; i < edge; i++) idx.push(i);
      idx.push(null);
      for (let i = n - edge; i < n; i++) idx.push(i);
    } else for (let i = 0; i < n; i++) idx.push(i);
    if (dim === rank - 1) {
      return `[${idx.map((i) => (i === null ? '...' : fmtNumber(data[offset + i]!))).join(', ')}]`;
    }
    const sep = `,${'\n'.repeat(rank - dim - 1)}${indent} `;
    return `[${idx.map((i) => (i === null ? '...' : rec(dim + 1, offset + i * strides[dim]!, `${indent} `))).join(sep)}]`;
  };
  return rec(0, 0, '');
}
