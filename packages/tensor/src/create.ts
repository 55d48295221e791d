/**
 * Tensor constructors.
 * @module
 */
import { getBackend } from './backend.ts';
import { allocTyped, type DType, isDType, type TypedArray } from './dtype.ts';
import { ChainruleError, fmtShape } from './errors.ts';
import type { Rng } from './rng.ts';
import { assertValidShape, type Shape, sizeOf } from './shape.ts';
import { type NestedArray, Tensor } from './tensor.ts';

/** Options for constructors. */
export interface CreateOptions {
  /** The dtype; default `float32` (or `float64` for a Float64Array input). */
  dtype?: DType;
}

function checkDType(op: string, dtype: unknown): DType {
  if (dtype === undefined) return 'float32';
  if (!isDType(dtype))
    throw new ChainruleError(op, `unknown dtype ${JSON.stringify(dtype)}; expected 'float32' or 'float64'`);
  return dtype;
}

function fromValues(values: ArrayLike<number>, shape: Shape, dtype: DType): Tensor {
  const data = allocTyped(dtype, values.length);
  for (let i = 0; i < values.length; i++) data[i] = values[i]!;
  return Tensor.fromTyped(data, shape);
}

function inferNestedShape(value: NestedArray, path: string): number[] {
  if (typeof value === 'number') return [];
  if (!Array.isArray(value)) {
    throw new ChainruleError('tensor', `expected a number or an array at ${path}, got ${typeof value}`);
  }
  if (value.length === 0) return [0];
  const inner = inferNestedShape(value[0]!, `${path}[0]`);
  return [value.length, ...inner];
}

function flattenNested(value: NestedArray, shape: number[], dim: number, out: number[], path: string): void {
  if (dim === shape.length) {
    if (typeof value !== 'number') {
      throw new ChainruleError('tensor', `ragged nested array: expected a number at ${path}, got an array`);
    }
    out.push(value);
    return;
  }
  if (!Array.isArray(value) || value.length !== shape[dim]) {
    throw new ChainruleError(
      'tensor',
      `ragged nested array: expected an array of length ${shape[dim]} at ${path}, got ${Array.isArray(value) ? `length ${value.length}` : typeof value}`,
    );
  }
  for (let i = 0; i < value.length; i++) flattenNested(value[i]!, shape, dim + 1, out, `${path}[${i}]`);
}

/**
 * Make a tensor from a number, nested arrays, a typed array or a plain array of numbers.
 *
 * @param values nested arrays (shape inferred), or flat values with `options.shape`.
 * @param options `shape` for flat input (default: 1-D), `dtype` (default `float32`, or
 *   `float64` for a Float64Array).
 * @example tensor([[1, 2], [3, 4]]) // float32, shape [2, 2]
 */
export function tensor(
  values: NestedArray | TypedArray | readonly number[],
  options: CreateOptions & { shape?: Shape } = {},
): Tensor {
  const defaultDType: DType = values instanceof Float64Array ? 'float64' : 'float32';
  const dtype = options.dtype === undefined ? defaultDType : checkDType('tensor', options.dtype);
  if (values instanceof Float32Array || values instanceof Float64Array) {
    const shape = options.shape ?? [values.length];
    assertValidShape('tensor', shape);
    if (sizeOf(shape) !== values.length) {
      throw new ChainruleError(
        'tensor',
        `shape ${fmtShape(shape)} needs ${sizeOf(shape)} values, got a typed array of length ${values.length}`,
      );
    }
    return fromValues(values, shape, dtype);
  }
  const inferred = inferNestedShape(values as NestedArray, 'values');
  const flat: number[] = [];
  flattenNested(values as NestedArray, inferred, 0, flat, 'values');
  for (let i = 0; i < flat.length; i++) {
    if (typeof flat[i] !== 'number')
      throw new ChainruleError('tensor', `element ${i} is not a number: ${flat[i]}`);
  }
  if (options.shape) {
    assertValidShape('tensor', options.shape);
    if (sizeOf(options.shape) !== flat.length) {
      throw new ChainruleError(
        'tensor',
        `shape ${fmtShape(options.shape)} needs ${sizeOf(options.shape)} values, got ${flat.length}`,
      );
    }
    return fromValues(flat, options.shape, dtype);
  }
  return fromValues(flat, inferred, dtype);
}

/** A scalar (shape `[]`) tensor. */
export function scalar(value: number, dtype: DType = 'float32'): Tensor {
  return fromValues([value], [], checkDType('scalar', dtype));
}

/** A tensor of `shape` with every element equal to `value`. */
export function full(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  assertValidShape('full', shape);
  const dtype = checkDType('full', options.dtype);
  const data = allocTyped(dtype, sizeOf(shape));
  data.fill(value);
  return Tensor.fromTyped(data, shape);
}

/** A tensor of zeros. */
export function zeros(shape: Shape, options: CreateOptions = {}): Tensor {
  assertValidShape('zeros', shape);
  return Tensor.empty(shape, checkDType('zeros', options.dtype), getBackend());
}

/** A tensor of ones. */
export function ones(shape: Shape, options: CreateOptions = {}): Tensor {
  assertValidShape('ones', shape);
  return full(shape, 1, options);
}

/** Zeros with the shape and dtype of `t`. */
export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape, { dtype: t.dtype });
}

/** Ones with the shape and dtype of `t`. */
export function onesLike(t: Tensor): Tensor {
  return ones(t.shape, { dtype: t.dtype });
}

/** The n×m identity matrix (m defaults to n). */
export function eye(n: number, m: number = n, options: CreateOptions = {}): Tensor {
  assertValidShape('eye', [n, m]);
  const dtype = checkDType('eye', options.dtype);
  const data = allocTyped(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) data[i * m + i] = 1;
  return Tensor.fromTyped(data, [n, m]);
}

/** Evenly spaced values in [start, stop) with `step`, like NumPy's arange. */
export function arange(start: number, stop?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  if (!Number.isFinite(start) || !Number.isFinite(stop) || !Number.isFinite(step) || step === 0) {
    throw new ChainruleError(
      'arange',
      `expected finite start, stop and a non-zero step, got ${start}, ${stop}, ${step}`,
    );
  }
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = checkDType('arange', options.dtype);
  const data = allocTyped(dtype, n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return Tensor.fromTyped(data, [n]);
}

/** `num` evenly spaced values from `start` to `stop`, both included. */
export function linspace(start: number, stop: number, num: number, options: CreateOptions = {}): Tensor {
  if (!Number.isInteger(num) || num < 0) {
    throw new ChainruleError('linspace', `num must be a non-negative integer, got ${num}`);
  }
  const dtype = checkDType('linspace', options.dtype);
  const data = allocTyped(dtype, num);
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  for (let i = 0; i < num; i++) data[i] = start + i * step;
  if (num > 1) data[num - 1] = stop;
  return Tensor.fromTyped(data, [num]);
}

/** Uniform draws in [low, high) from the seeded generator `rng`. */
export function uniform(
  shape: Shape,
  low: number,
  high: number,
  rng: Rng,
  options: CreateOptions = {},
): Tensor {
  assertValidShape('uniform', shape);
  if (!(low <= high) || !Number.isFinite(low) || !Number.isFinite(high)) {
    throw new ChainruleError('uniform', `expected finite low <= high, got low=${low}, high=${high}`);
  }
  const data = rng.fillUniform(allocTyped(checkDType('uniform', options.dtype), sizeOf(shape)), low, high);
  return Tensor.fromTyped(data, shape);
}

/** Uniform draws in [0, 1) from the seeded generator `rng`. */
export function rand(shape: Shape, rng: Rng, options: CreateOptions = {}): Tensor {
  return uniform(shape, 0, 1, rng, options);
}

/** Normal draws (default standard normal) from the seeded generator `rng`. */
export function randn(
  shape: Shape,
  rng: Rng,
  options: CreateOptions & { mean?: number; std?: number } = {},
): Tensor {
  assertValidShape('randn', shape);
  const { mean = 0, std = 1 } = options;
  if (!Number.isFinite(mean) || !(std >= 0) || !Number.isFinite(std)) {
    throw new ChainruleError('randn', `expected a finite mean and std >= 0, got mean=${mean}, std=${std}`);
  }
  const data = rng.fillNormal(allocTyped(checkDType('randn', options.dtype), sizeOf(shape)), mean, std);
  return Tensor.fromTyped(data, shape);
}
