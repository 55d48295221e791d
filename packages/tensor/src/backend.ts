/**
 * Backends and the kernel registry.
 *
 * A backend owns tensor storage and runs kernels. Storage is opaque outside its backend:
 * WebAssembly memory detaches views when it grows and gpu.js textures must be freed, so
 * nothing outside a backend may keep a raw view across calls. Read data out with
 * `backend.read` (a copy), which is what `Tensor.dataSync()` does.
 *
 * Kernels are registered per (op, backend), as in tfjs-core's kernel registry. An op
 * allocates its outputs on the active backend and asks the registry for the kernel. When
 * the active backend has no kernel for an op, the `js` reference kernel runs on copies and
 * the fallback is logged (never silent).
 * @module
 */
import type { DType, TypedArray } from './dtype.ts';
import { envVar } from './env.ts';
import { ChainruleError } from './errors.ts';
import { KERNEL_NAMES, type KernelAttrs, type KernelName } from './kernels.ts';

const kernelNames: ReadonlySet<string> = new Set(KERNEL_NAMES);
/** True when `op` is a built-in kernel name (see `OPS` in kernels.ts). */
export function isKernelName(op: string): op is KernelName {
  return kernelNames.has(op);
}

/** Storage for one tensor's elements, owned by a backend. Reference-counted. */
export interface Storage {
  /** The backend that owns this storage. */
  readonly backend: Backend;
  /** How many tensors share this storage (reshape shares). Freed when it drops to 0. */
  refs: number;
}

/** What a backend must provide. */
export interface Backend {
  /** The registry name, for example `js`. */
  readonly name: string;
  /** Zero-initialised storage for `size` elements of `dtype`. */
  alloc(dtype: DType, size: number): Storage;
  /** Storage holding a copy of `data`. */
  fromTyped(data: TypedArray): Storage;
  /** A copy of the elements, as a new typed array of the storage's dtype. */
  read(storage: Storage, dtype: DType, size: number): TypedArray;
  /** Release the storage. Called once, when its last tensor is disposed. */
  free(storage: Storage): void;
  /** Which dtypes this backend stores; others are a clear error. */
  supportsDType(dtype: DType): boolean;
  /**
   * Optional: the backend's own memory figures for `memory()`, for example the size of
   * the WebAssembly memory or the number of live textures.
   */
  memory?(): Record<string, number>;
  /**
   * True when kernels write their outputs in place into storage the caller provides, so a
   * captured function can be replayed on this backend (capture.ts); gpu.js does not.
   */
  readonly replayable?: boolean;
  /** Optional: set every element of `storage` to `value` (replay's `poison` test mode). */
  fill?(storage: Storage, dtype: DType, size: number, value: number): void;
  /** Free-form facts for `getBackendInfo()`, for example the gpu.js mode. */
  info?(): Record<string, unknown>;
}

/** The arguments a kernel receives: tensors on its backend, already allocated outputs. */
export interface KernelArgs<A = Record<string, unknown>> {
  /** Inputs, all on the kernel's backend. */
  readonly inputs: readonly import('./tensor.ts').Tensor[];
  /** Outputs, allocated on the kernel's backend with their final shapes and dtypes. */
  readonly outputs: readonly import('./tensor.ts').Tensor[];
  /** Op attributes (axes, transpose flags, ...), already validated by the op. */
  readonly attrs: A;
}

/** A kernel fills its outputs from its inputs. */
// biome-ignore lint/suspicious/noExplicitAny: a registry entry of any kernel; typed ones are KernelFn<K>.
export type KernelFunc = (args: KernelArgs<any>) => void;

/** The implementation of built-in kernel `K`: its attributes are typed by the contract (kernels.ts). */
export type KernelFn<K extends KernelName> = (args: KernelArgs<KernelAttrs[K]>) => void;

/** The optional hook of a kernel: whether it handles these inputs and attributes. */
export type KernelSupports<A> = (args: {
  inputs: readonly import('./tensor.ts').Tensor[];
  attrs: A;
}) => boolean;

/** A registry entry for built-in kernel `K` on one backend. */
export interface KernelConfig<K extends KernelName = KernelName> {
  /** The op name, for example `matmul`. */
  readonly op: K;
  /** The backend name, for example `js`. */
  readonly backend: string;
  /** The implementation. */
  readonly fn: KernelFn<K>;
  /**
   * Optional: whether this kernel handles these inputs (for example only float32). When it
   * returns false the op falls back to the `js` kernel, logged like a missing kernel.
   */
  readonly supports?: KernelSupports<KernelAttrs[K]>;
}

/** A registry entry for a kernel of your own (an op made with `defineOp`), under a name that is not built in. */
export interface CustomKernelConfig<A = Record<string, unknown>> {
  /** The op name: not one of `KERNEL_NAMES`. */
  readonly op: string;
  /** The backend name. */
  readonly backend: string;
  /** The implementation. */
  readonly fn: (args: KernelArgs<A>) => void;
  /** Optional: whether this kernel handles these inputs; otherwise the op falls back. */
  readonly supports?: KernelSupports<A>;
}

/** What the registry holds: any kernel, built in or custom, with its attributes untyped. */
export interface RegisteredKernel {
  /** The op name. */
  readonly op: string;
  /** The backend name. */
  readonly backend: string;
  /** The implementation. */
  readonly fn: KernelFunc;
  /** Optional: whether this kernel handles these inputs. */
  // biome-ignore lint/suspicious/noExplicitAny: the registry does not know each kernel's attributes.
  readonly supports?: KernelSupports<any>;
}

/**
 * The backend used when neither `setBackend` nor `CHAINRULE_BACKEND` chose one: `wasm`, the
 * fastest correct backend on a CPU (hand-written SIMD kernels; float64 falls back to js).
 */
export const DEFAULT_BACKEND = 'wasm';

const backends = new Map<string, () => Backend>();
const instances = new Map<string, Backend>();
const kernels = new Map<string, RegisteredKernel>();
let active: Backend | undefined;
let logger: (message: string) => void = (message) => {
  if (envVar('CHAINRULE_DEBUG')) console.error(`[chainrule] ${message}`);
};
const fallbackCounts = new Map<string, number>();

/**
 * Make a backend print as its name: `String(b)`, `${b}`, `console.log(b)` in Node and
 * `JSON.stringify(b)` all give `b.name` instead of the object with its storage internals.
 * Non-enumerable, so spreading a backend (`getBackendInfo`) is unchanged.
 */
function describeAs(b: Backend): void {
  const name = (): string => b.name;
  for (const key of ['toString', 'toJSON', Symbol.for('nodejs.util.inspect.custom')]) {
    if (Object.hasOwn(b, key)) continue;
    Object.defineProperty(b, key, { value: name, enumerable: false, configurable: true, writable: true });
  }
}

/** Register a backend factory under `name`. The factory runs on first use. */
export function registerBackend(name: string, factory: () => Backend): void {
  backends.set(name, factory);
}

/** Names of the registered backends. */
export function listBackends(): string[] {
  return [...backends.keys()];
}

/**
 * Register (or replace) built-in kernel `op` for a backend. The kernel's attributes are typed
 * by the contract (`KernelAttrs[op]`), so a kernel that reads the wrong attributes does not compile.
 */
export function registerKernel<K extends KernelName>(config: KernelConfig<K>): void {
  kernels.set(`${config.op}@${config.backend}`, config as unknown as RegisteredKernel);
}

/**
 * Register (or replace) a kernel for an op of your own. Built-in names are refused: register
 * those with {@link registerKernel}, which checks their attribute types.
 */
export function registerCustomKernel<A>(config: CustomKernelConfig<A>): void {
  if (isKernelName(config.op)) {
    throw new ChainruleError(
      'registerCustomKernel',
      `"${config.op}" is a built-in kernel; register it with registerKernel, which types its attributes`,
    );
  }
  kernels.set(`${config.op}@${config.backend}`, config as unknown as RegisteredKernel);
}

/** Remove the kernel of an op of your own for one backend (built-in kernels stay). */
export function unregisterCustomKernel(op: string, backend: string): void {
  if (isKernelName(op)) {
    throw new ChainruleError('unregisterCustomKernel', `"${op}" is a built-in kernel and cannot be removed`);
  }
  kernels.delete(`${op}@${backend}`);
}

/** The kernel for (op, backend), if one is registered. */
export function getKernel(op: string, backend: string): RegisteredKernel | undefined {
  return kernels.get(`${op}@${backend}`);
}

/**
 * Backends that live outside the main entry, so that what they need (gpu.js and its native
 * headless-gl build) stays out of programs that do not use them.
 */
const OPTIONAL_BACKEND_ENTRIES: Record<string, string> = { gpujs: '@chainrule/tensor/gpujs' };

/** A backend instance by name, created on first use. Unknown names are a clear error. */
export function backendByName(name: string): Backend {
  let b = instances.get(name);
  if (b) return b;
  const factory = backends.get(name);
  if (!factory) {
    const entry = OPTIONAL_BACKEND_ENTRIES[name];
    throw new ChainruleError(
      'setBackend',
      `unknown backend "${name}"; registered backends: ${listBackends().join(', ')}` +
        (entry ? `; the ${name} backend registers itself when you import '${entry}'` : ''),
    );
  }
  b = factory();
  describeAs(b);
  instances.set(name, b);
  return b;
}

/**
 * Make `name` the active backend: new tensors and op results live there.
 * @throws ChainruleError for an unknown name.
 */
export function setBackend(name: string): void {
  active = backendByName(name);
}

/**
 * The active backend. On first call it honours the environment variable
 * `CHAINRULE_BACKEND`, else {@link DEFAULT_BACKEND}. Log `getBackend().name` (the backend also
 * prints as its name), or `getBackendInfo()` for the details.
 */
export function getBackend(): Backend {
  if (!active) {
    const fromEnv = envVar('CHAINRULE_BACKEND');
    if (fromEnv) {
      try {
        active = backendByName(fromEnv);
      } catch (e) {
        throw new ChainruleError(
          'CHAINRULE_BACKEND',
          `${(e as Error).message.replace(/^setBackend: /, '')} (set in the environment)`,
        );
      }
    } else active = backendByName(DEFAULT_BACKEND);
  }
  return active;
}

/** Run `fn` with `name` as the active backend, then restore the previous one. */
export function withBackend<T>(name: string, fn: () => T): T {
  const previous = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    active = previous;
  }
}

/** Facts about the active backend: its name, registered backends and backend-specific info. */
export function getBackendInfo(): { name: string; registered: string[] } & Record<string, unknown> {
  const b = getBackend();
  return { name: b.name, registered: listBackends(), ...(b.info ? b.info() : {}) };
}

/** Route chainrule's debug messages (kernel fallbacks) somewhere; default: stderr when `CHAINRULE_DEBUG` is set. */
export function setDebugLogger(fn: (message: string) => void): void {
  logger = fn;
}

/** Log a debug message through the configured logger. */
export function debugLog(message: string): void {
  logger(message);
}

/** How many times each `op@backend` fell back to the `js` kernel, since start or reset. */
export function getFallbackCounts(): Record<string, number> {
  return Object.fromEntries(fallbackCounts);
}

/** Reset the fallback counters. */
export function resetFallbackCounts(): void {
  fallbackCounts.clear();
}

/** Record a fallback (used by the op runner). */
export function noteFallback(op: string, backend: string): void {
  const key = `${op}@${backend}`;
  const n = (fallbackCounts.get(key) ?? 0) + 1;
  fallbackCounts.set(key, n);
  if (n === 1) debugLog(`kernel "${op}" has no ${backend} implementation; falling back to js`);
}
