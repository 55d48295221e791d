/**
 * Machine information recorded with every run.
 *
 * @module
 */

import os from 'node:os';

/** tfjs details; `wasm` is `null` when the wasm backend was not initialised. */
export interface TfjsInfo {
  readonly version: string;
  readonly wasm: { readonly simd: boolean; readonly threads: boolean } | null;
}

/** jax-js details (see `contenders/jaxjs.ts`). */
export interface JaxjsInfo {
  readonly version: string;
  /** jax-js starts wasm worker threads only when `SharedArrayBuffer` and a global `Worker` exist. */
  readonly threads: boolean;
}

/** The PyTorch contender's interpreter, torch build and BLAS (see `contenders/torch.ts`). */
export interface TorchInfo {
  /** `torch.__version__`. */
  readonly version: string;
  /** Python version and interpreter path. */
  readonly python: string;
  readonly executable: string;
  /**
   * The BLAS loaded in the Python process (from `/proc/self/maps`): `name` is `openblas`,
   * `reference`, `mkl` or `unknown`; OpenBLAS adds its build config and the kernel core it chose.
   */
  readonly blas: {
    readonly name: string;
    readonly libraries: readonly string[];
    readonly config?: string | undefined;
    readonly corename?: string | undefined;
  };
  /** The thread counts PyTorch rows were measured at. */
  readonly threads: readonly number[];
}

export interface MachineInfo {
  /** CPU model string. */
  readonly cpu: string;
  /** Logical cores available to this process. */
  readonly cores: number;
  /** Node version, e.g. `v20.19.0`. */
  readonly node: string;
  /** ISO-8601 time of the run. */
  readonly date: string;
  /** `platform-arch (os release)`. */
  readonly platform: string;
  /** The gpu.js mode chainrule's GPU backend ran in, or `null` when it was not used. */
  readonly gpujsMode: string | null;
  /** tfjs version and wasm features, or `null` when no tfjs contender ran. */
  readonly tfjs: TfjsInfo | null;
  /** jax-js version and thread support, or `null` when no jax-js contender ran. */
  readonly jaxjs: JaxjsInfo | null;
  /** PyTorch details, or `null` when no PyTorch row ran (not installed, or filtered out). */
  readonly torch: TorchInfo | null;
  /**
   * One core's wasm SIMD peak in GFLOP/s, measured by a register-only multiply-add loop
   * (`simdPeakGflops` in the wasm backend): `fma` fused (relaxed SIMD; `null` where the
   * engine lacks it), `simd` a mul and an add. `null` when no chainrule wasm row ran.
   */
  readonly wasmPeak: { simd: number; fma: number | null } | null;
  /** os.loadavg() when the report was made: how busy the machine was (other work skews ratios). */
  readonly loadavg?: readonly number[];
}

export function machineInfo(
  extra: {
    gpujsMode?: string | null;
    tfjs?: TfjsInfo | null;
    jaxjs?: JaxjsInfo | null;
    torch?: TorchInfo | null;
    wasmPeak?: { simd: number; fma: number | null } | null;
  } = {},
): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    node: process.version,
    date: new Date().toISOString(),
    platform: `${process.platform}-${process.arch} (${os.release()})`,
    gpujsMode: extra.gpujsMode ?? null,
    tfjs: extra.tfjs ?? null,
    jaxjs: extra.jaxjs ?? null,
    torch: extra.torch ?? null,
    wasmPeak: extra.wasmPeak ?? null,
    loadavg: os.loadavg(),
  };
}
