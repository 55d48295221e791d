/**
 * The Tensor: a shape, a dtype and contiguous row-major storage owned by a backend.
 * @module
 */
import { type Backend, getBackend, type Storage } from './backend.ts';
import type { DType, TypedArray } from './dtype.ts';
import { ChainruleError, fmtShape } from './errors.ts';
import { trackTensor } from './scope.ts';
import { type Shape, sizeOf } from './shape.ts';

/** Releases storage references of tensors that were garbage-collected without dispose(). */
const finalizer = new FinalizationRegistry<Storage>((storage) => {
  storage.refs--;
  if (storage.refs === 0) storage.backend.free(storage);
});

/** Nested arrays of numbers, as `toArray()` returns and `tensor()` accepts. */
export type NestedArray = number | NestedArray[];

/**
 * An n-dimensional array of float32 or float64 numbers. Tensors are immutable values:
 * ops return new tensors. Storage is owned by a backend and may be shared (`reshape`).
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

  /**
   * Wrap existing storage. Most code should use `tensor()`, `zeros()` and the ops instead.
   * The tensor takes one reference to the storage.
   */
  constructor(shape: Shape, dtype: DType, storage: Storage) {
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this.rank = shape.length;
    this._storage = storage;
    storage.refs++;
    if (storage.backend.releaseOnGC) finalizer.register(this, storage, this);
    trackTensor(this);
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
        `this ${this.dtype} tensor of shape ${fmtShape(this.shape)} was disposed`,
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

  /** A copy of the elements as a typed array (Float32Array or Float64Array), row-major. */
  dataSync(): TypedArray {
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

  /** Release this tensor's reference to its storage. Using it afterwards is an error. */
  dispose(): void {
    const s = this._storage;
    if (!s) return;
    this._storage = undefined;
    if (s.backend.releaseOnGC) finalizer.unregister(this);
    s.refs--;
    if (s.refs === 0) s.backend.free(s);
  }

  /** A readable rendering: dtype, shape and values (long dimensions are elided with `...`). */
  toString(): string {
    if (this.isDisposed) return `Tensor(${this.dtype}, ${fmtShape(this.shape)}, disposed)`;
    return `Tensor(${this.dtype}, ${fmtShape(this.shape)})\n${formatValues(this.dataSync(), this.shape)}`;
  }
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
