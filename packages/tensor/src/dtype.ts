/**
 * Data types. chainrule has two: `float32` (the default, stored in a Float32Array) and
 * `float64` (stored in a Float64Array), which gradient checks use so that finite
 * differences are accurate.
 * @module
 */

/** The element type of a tensor. */
export type DType = 'float32' | 'float64';

/** The typed array that stores a dtype. */
export type TypedArray = Float32Array | Float64Array;

/** The dtypes chainrule knows, in a stable order. */
export const DTYPES: readonly DType[] = ['float32', 'float64'];

/** True when `value` names a dtype. */
export function isDType(value: unknown): value is DType {
  return value === 'float32' || value === 'float64';
}

/** A zero-filled typed array for `dtype` with `size` elements. */
export function allocTyped(dtype: DType, size: number): TypedArray {
  return dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
}

/** The dtype stored by a typed array. */
export function dtypeOf(data: TypedArray): DType {
  return data instanceof Float64Array ? 'float64' : 'float32';
}

/** Bytes per element of a dtype. */
export function bytesPerElement(dtype: DType): number {
  return dtype === 'float64' ? 8 : 4;
}
