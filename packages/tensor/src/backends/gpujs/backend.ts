/**
 * The `gpujs` backend object: mode selection, storage and the compiled-kernel cache.
 *
 * Storage holds a tensor's elements as a gpu.js `Texture` (the output of a pipelined
 * kernel in a GL mode), as a host `Float32Array`, or both once a texture has been read.
 * Kernels take textures as inputs directly, so consecutive gpujs ops never leave the
 * device; `read` converts with `texture.toArray()` only when data is needed. In the
 * `webasm` and `cpu` modes gpu.js has no device memory and kernels return typed arrays.
 *
 * gpu.js is loaded (and a GPU created) when the backend is first used, never at import.
 * @module
 */
import { createRequire } from 'node:module';
import type { GPU, IKernelRunShortcut, Texture } from 'gpu.js';
import { type Backend, debugLog, type Storage } from '../../backend.ts';
import type { DType, TypedArray } from '../../dtype.ts';
import { ChainruleError } from '../../errors.ts';
import type { Tensor } from '../../tensor.ts';
import { MAX_ELEMENTS } from './codegen.ts';

type GpuJsModule = typeof import('gpu.js');

/** The values `CHAINRULE_GPUJS_MODE` accepts. */
export const GPUJS_MODES = ['gpu', 'headlessgl', 'webgpu', 'webasm', 'cpu'] as const;

/** A mode name accepted by `CHAINRULE_GPUJS_MODE`. */
export type GpujsModeName = (typeof GPUJS_MODES)[number];

/** Storage of the `gpujs` backend. Elements are float32, row-major, flat. */
export interface GpujsStorage extends Storage {
  /** The number of elements. */
  readonly size: number;
  /** A host copy of the elements, when one exists. Never mutated once set. */
  data: Float32Array | undefined;
  /** The device copy (GL modes), when one exists. Deleted by `free`. */
  texture: Texture | undefined;
  /** True once `free` ran. */
  freed: boolean;
}

/** A compiled kernel and what the cache knows about it. */
interface CachedKernel {
  readonly run: IKernelRunShortcut;
  /** The last typed-array result, to detect a backend that reuses its output buffer. */
  last: unknown;
  /** Checked after the first call: the gpu.js kernel class that actually ran. */
  checked: boolean;
}

/** The live state of the backend, created on first use. */
interface Runtime {
  readonly gpu: GPU;
  /** The mode kernels actually run in: headlessgl, webasm or cpu (webgpu is refused). */
  readonly mode: 'headlessgl' | 'webasm' | 'cpu';
  /** What was asked for: a mode name, or `auto` when the variable is unset. */
  readonly requested: GpujsModeName | 'auto';
  /** Why auto-detection chose what it chose (auto mode only). */
  readonly reason: string | undefined;
  /** True when kernel outputs are textures (GL modes). */
  readonly textures: boolean;
  readonly kernels: Map<string, CachedKernel>;
  /** The gpu.js kernel class kernels are expected to run on, to detect gpu.js's CPU fallback. */
  readonly kernelClass: unknown;
}

/** Counters reported by `gpujsStats()`. */
export interface GpujsStats {
  /** The active mode. */
  mode: string;
  /** Textures currently owned by gpujs storage (each is deleted when its storage is freed). */
  liveTextures: number;
  /** Storage objects allocated and not yet freed. */
  liveStorages: number;
  /** Distinct kernels compiled (one per op and shape signature). */
  kernelsCompiled: number;
  /** Kernel launches answered from the cache. */
  cacheHits: number;
  /** Kernel launches in total. */
  launches: number;
  /** Texture reads (`texture.toArray()`). */
  textureReads: number;
  /** Kernels that gpu.js itself moved to its CPU backend (should be 0). */
  gpujsCpuFallbacks: number;
}

const counters = {
  liveTextures: 0,
  liveStorages: 0,
  kernelsCompiled: 0,
  cacheHits: 0,
  launches: 0,
  textureReads: 0,
  gpujsCpuFallbacks: 0,
};

let rt: Runtime | undefined;

/** The runtime; the backend must have been created (`backendByName('gpujs')`). */
export function runtime(): Runtime {
  if (!rt) throw new ChainruleError('gpujs', 'the gpujs backend has not been created yet');
  return rt;
}

/** Parse `CHAINRULE_GPUJS_MODE`: a mode name, `auto` when unset or empty, else a clear error. */
export function requestedMode(value: string | undefined): GpujsModeName | 'auto' {
  if (value === undefined || value.trim() === '') return 'auto';
  const v = value.trim();
  if ((GPUJS_MODES as readonly string[]).includes(v)) return v as GpujsModeName;
  throw new ChainruleError(
    'CHAINRULE_GPUJS_MODE',
    `unknown gpu.js mode "${value}"; expected one of ${GPUJS_MODES.join(', ')} (or unset to auto-detect)`,
  );
}

function loadGpuJs(): GpuJsModule {
  const require = createRequire(import.meta.url);
  try {
    return require('gpu.js') as GpuJsModule;
  } catch (e) {
    throw new ChainruleError(
      'gpujs',
      `could not load gpu.js (an optional peer dependency of @chainrule/tensor: npm install gpu.js): ${(e as Error).message}`,
    );
  }
}

/** Run a tiny pipelined kernel and check its result: proves the mode really works here. */
function smokeTest(gpu: GPU): void {
  const k = gpu.createKernel('function (x) { return x[this.thread.x] * 2 + 1; }', {
    output: [3],
    pipeline: true,
    immutable: true,
    precision: 'single',
  });
  try {
    const r = k(new Float32Array([1, 2, 3])) as unknown;
    const tex = r as Texture;
    const values = typeof tex.toArray === 'function' ? (tex.toArray() as Float32Array) : (r as Float32Array);
    if (typeof tex.delete === 'function') tex.delete();
    if (!(values && values[0] === 3 && values[1] === 5 && values[2] === 7)) {
      throw new Error(`a test kernel computed [${Array.from(values ?? [])}] instead of [3, 5, 7]`);
    }
  } finally {
    k.destroy();
  }
}

function kernelModeOf(m: GpuJsModule, gpu: GPU): 'headlessgl' | 'webasm' | 'cpu' | 'other' {
  const K = (gpu as unknown as { Kernel: unknown }).Kernel;
  if (K === m.HeadlessGLKernel) return 'headlessgl';
  if (K === m.WebAssemblyKernel) return 'webasm';
  if (K === m.CPUKernel) return 'cpu';
  return 'other';
}

function createGpu(m: GpuJsModule, mode: string): GPU {
  return new m.GPU({ mode: mode as 'gpu' });
}

/** Release a GPU that failed its smoke test (its GL context, if any). */
function destroyQuietly(gpu: GPU | undefined): void {
  if (!gpu) return;
  try {
    gpu.destroy().catch(() => {});
  } catch {
    // nothing more to release
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Create the runtime for the requested mode, or throw a clear error. */
function createRuntime(): Runtime {
  const requested = requestedMode(process.env.CHAINRULE_GPUJS_MODE);
  const m = loadGpuJs();
  let gpu: GPU;
  let reason: string | undefined;
  if (requested === 'webgpu') {
    throw new ChainruleError(
      'CHAINRULE_GPUJS_MODE',
      `webgpu is not usable by the gpujs backend: gpu.js's webgpu kernels always return Promises ` +
        `(WebGPU has no synchronous readback) while chainrule's kernels are synchronous` +
        `${(m.GPU as unknown as { isWebGPUSupported: boolean }).isWebGPUSupported ? '' : ', and WebGPU is not available in this process'}; ` +
        `use headlessgl, gpu, webasm or cpu`,
    );
  }
  if (requested === 'headlessgl') {
    if (!m.GPU.isHeadlessGLSupported) {
      throw new ChainruleError(
        'gpujs',
        'CHAINRULE_GPUJS_MODE=headlessgl but headless-gl could not create a WebGL context ' +
          '(is the gl package built, and is there a display? run under xvfb-run -a)',
      );
    }
    let g: GPU | undefined;
    try {
      g = createGpu(m, 'headlessgl');
      smokeTest(g);
      gpu = g;
    } catch (e) {
      destroyQuietly(g);
      throw new ChainruleError(
        'gpujs',
        `CHAINRULE_GPUJS_MODE=headlessgl but creating the GL context or running a test kernel failed: ${messageOf(e)}`,
      );
    }
  } else if (requested === 'auto') {
    // A GPU mode where one works (in Node that is headless-gl), else gpu.js's webasm mode.
    gpu = undefined as unknown as GPU;
    if (m.GPU.isHeadlessGLSupported) {
      let g: GPU | undefined;
      try {
        g = createGpu(m, 'headlessgl');
        smokeTest(g);
        gpu = g;
        reason = 'headless-gl created a WebGL context and ran a test kernel';
      } catch (e) {
        destroyQuietly(g);
        reason = `headless-gl failed (${messageOf(e)}); using webasm`;
      }
    } else reason = 'headless-gl is not available (no gl build or no display); using webasm';
    if (!gpu) {
      const wasm = (m.GPU as unknown as { isWebAssemblySupported: boolean }).isWebAssemblySupported;
      if (!wasm) reason = `${reason}; WebAssembly is not supported, using cpu`;
      gpu = createGpu(m, wasm ? 'webasm' : 'cpu');
    }
  } else {
    let g: GPU | undefined;
    try {
      g = createGpu(m, requested);
      smokeTest(g);
      gpu = g;
    } catch (e) {
      destroyQuietly(g);
      throw new ChainruleError(
        'gpujs',
        `CHAINRULE_GPUJS_MODE=${requested}: gpu.js could not run a test kernel: ${messageOf(e)}`,
      );
    }
  }
  const mode = kernelModeOf(m, gpu);
  if (mode === 'other') {
    throw new ChainruleError('gpujs', `gpu.js chose an unexpected kernel type for mode ${requested}`);
  }
  const kernelClass =
    mode === 'headlessgl' ? m.HeadlessGLKernel : mode === 'webasm' ? m.WebAssemblyKernel : m.CPUKernel;
  return {
    gpu,
    mode,
    requested,
    reason,
    textures: mode === 'headlessgl',
    kernels: new Map(),
    kernelClass,
  };
}

function isTexture(x: unknown): x is Texture {
  return typeof x === 'object' && x !== null && typeof (x as Texture).delete === 'function';
}

/** The host copy of a storage's elements (reads the texture once if needed). Do not mutate. */
export function hostData(s: GpujsStorage): Float32Array {
  if (s.freed) throw new ChainruleError('gpujs', 'storage used after it was freed');
  if (!s.data) {
    if (s.texture) {
      counters.textureReads++;
      const arr = s.texture.toArray() as unknown as Float32Array;
      s.data = arr.length === s.size ? arr : arr.slice(0, s.size);
    } else s.data = new Float32Array(s.size);
  }
  return s.data;
}

/** What a kernel argument is: a gpujs tensor or a small host array (indices, hyperparameters). */
export type KernelArg = Tensor | Float32Array;

/** What `launch` needs to run (and, on a cache miss, build) one kernel. */
export interface LaunchSpec {
  /** Op name plus everything the source depends on (shapes, flags, sizes). */
  readonly key: string;
  /** Builds the kernel source, `function (x0, x1, ...) { ... }`; called on a cache miss only. */
  readonly source: () => string;
  /** The kernel arguments, in the order of the source's parameters. */
  readonly args: readonly KernelArg[];
}

function argValue(a: KernelArg): { value: unknown; kind: string } {
  if (a instanceof Float32Array) return { value: a, kind: 'a' };
  const s = a.storage as GpujsStorage;
  if (s.freed) throw new ChainruleError('gpujs', 'an input tensor was freed');
  if (s.texture) return { value: s.texture, kind: 't' };
  return { value: hostData(s), kind: 'a' };
}

/** Set a storage's contents to a kernel result (a texture in GL modes, else a typed array). */
function store(out: GpujsStorage, result: unknown, cached: CachedKernel): void {
  if (out.texture) {
    out.texture.delete();
    out.texture = undefined;
    counters.liveTextures--;
  }
  if (isTexture(result)) {
    out.texture = result;
    out.data = undefined;
    counters.liveTextures++;
    return;
  }
  let arr = result as Float32Array;
  if (!(arr instanceof Float32Array)) arr = Float32Array.from(arr as ArrayLike<number>);
  // A backend that hands back the same buffer on every call would let a later launch
  // overwrite this tensor: copy when that happens.
  if (arr === cached.last) arr = arr.slice();
  cached.last = arr;
  out.data = arr.length === out.size ? arr : arr.slice(0, out.size);
}

/**
 * Run the kernel for `spec` into `out`, compiling and caching it on first use of its
 * key. The cache key is the spec's key plus the kind (texture or array) of each argument.
 */
export function launch(out: Tensor, spec: LaunchSpec): void {
  const r = runtime();
  const outStorage = out.storage as GpujsStorage;
  if (out.size === 0) {
    outStorage.data = new Float32Array(0);
    return;
  }
  if (out.size >= MAX_ELEMENTS) {
    // Ops whose `supports` cannot see the output size (broadcastTo, scatterAdd) end up here.
    throw new ChainruleError(
      'gpujs',
      `${spec.key}: a result of ${out.size} elements is too large for gpujs kernels (limit 2^24 - 1, float32 index arithmetic); use another backend`,
    );
  }
  const vals = spec.args.map(argValue);
  const key = `${spec.key}|${vals.map((v) => v.kind).join('')}`;
  let cached = r.kernels.get(key);
  counters.launches++;
  if (cached) counters.cacheHits++;
  else {
    const run = r.gpu.createKernel(spec.source(), {
      output: [out.size],
      pipeline: r.textures,
      immutable: true,
      precision: 'single',
      tactic: 'precision',
      dynamicOutput: false,
      dynamicArguments: false,
    });
    cached = { run, last: undefined, checked: false };
    r.kernels.set(key, cached);
    counters.kernelsCompiled++;
  }
  let result: unknown;
  try {
    result = cached.run(...(vals.map((v) => v.value) as never[]));
  } catch (e) {
    throw new ChainruleError('gpujs', `kernel ${spec.key} failed in ${r.mode} mode: ${messageOf(e)}`);
  }
  if (!cached.checked) {
    cached.checked = true;
    const k = (cached.run as unknown as { kernel: { constructor: unknown } }).kernel;
    if (k && k.constructor !== r.kernelClass) {
      counters.gpujsCpuFallbacks++;
      debugLog(`gpu.js ran kernel ${spec.key} on its CPU backend instead of ${r.mode}`);
    }
  }
  store(outStorage, result, cached);
}

/** Make `out` hold a copy of `src` without running a kernel (textures are reference-counted clones). */
export function copyStorage(out: Tensor, src: Tensor): void {
  const o = out.storage as GpujsStorage;
  const s = src.storage as GpujsStorage;
  if (s.texture) {
    o.texture = s.texture.clone();
    counters.liveTextures++;
  }
  // Host copies are never mutated once set, so they may be shared.
  o.data = s.data ?? (s.texture ? undefined : new Float32Array(o.size));
}

/** Set `out` to host data computed on the CPU (used for trivial cases such as empty sums). */
export function setHost(out: Tensor, data: Float32Array): void {
  const o = out.storage as GpujsStorage;
  o.data = data;
}

/** Counters of the backend. */
export function stats(): GpujsStats {
  return { mode: rt ? rt.mode : 'not created', ...counters };
}

/** Create the `gpujs` backend (the registry calls this once, on first use). */
export function createGpujsBackend(): Backend {
  rt = createRuntime();
  const r = rt;
  const backend: Backend = {
    name: 'gpujs',
    alloc(_dtype: DType, size: number): GpujsStorage {
      counters.liveStorages++;
      return { backend, refs: 0, size, data: undefined, texture: undefined, freed: false };
    },
    fromTyped(data: TypedArray): GpujsStorage {
      counters.liveStorages++;
      return {
        backend,
        refs: 0,
        size: data.length,
        data: Float32Array.from(data),
        texture: undefined,
        freed: false,
      };
    },
    read(storage: Storage): TypedArray {
      return hostData(storage as GpujsStorage).slice();
    },
    free(storage: Storage): void {
      const s = storage as GpujsStorage;
      if (s.freed) return;
      s.freed = true;
      counters.liveStorages--;
      if (s.texture) {
        s.texture.delete();
        s.texture = undefined;
        counters.liveTextures--;
      }
      s.data = undefined;
    },
    supportsDType(dtype: DType): boolean {
      return dtype === 'float32';
    },
    memory() {
      return { gpujsLiveTextures: counters.liveTextures, gpujsLiveStorages: counters.liveStorages };
    },
    info() {
      return {
        ...stats(),
        mode: r.mode,
        requestedMode: r.requested,
        ...(r.reason ? { modeReason: r.reason } : {}),
        precision: 'single',
        pipeline: r.textures,
        dtypes: ['float32'],
        description: `gpu.js ${r.mode} kernels (float32 only)`,
      };
    },
  };
  return backend;
}
