/**
 * Messages between the DDPG tab and its training worker.
 * @module
 */

/** Playback speed: real time (Pendulum's dt is 0.05 s, so 20 steps a second), 4×, or as fast as it goes. */
export type Speed = '1' | '4' | 'max';

/** The presets the page offers (DDPG and TD3; DPG runs are not checkpointed). */
export const PAGE_PRESETS = ['tuned', 'paper', 'td3'] as const;
/** One of {@link PAGE_PRESETS}. */
export type PagePreset = (typeof PAGE_PRESETS)[number];

/** Page → worker. */
export type ToWorker =
  | { type: 'reset'; preset: PagePreset; seed: number }
  | { type: 'start' }
  | { type: 'pause' }
  | { type: 'speed'; speed: Speed }
  | { type: 'watch' }
  | { type: 'download' }
  | {
      type: 'load';
      bytes: ArrayBuffer;
      name: string;
      manifest: string | undefined;
      preset: PagePreset;
      seed: number;
    };

/** One finished episode (training or watching). */
export interface EpisodeRow {
  episode: number;
  step: number;
  return: number;
  /** Mean over the episode's updates of the batch's max Q; null before learning starts. */
  avgMaxQ: number | null;
  kind: 'train' | 'watch';
}

/** Worker → page. */
export type FromWorker =
  | {
      type: 'ready';
      backend: string;
      preset: string;
      seed: number;
      hidden: string;
      /** Threads the wasm kernels run on (the training worker's own included). */
      threads: number;
      /** Why only one thread (the page is not cross-origin isolated, ...), if so. */
      threadsNote?: string;
    }
  | { type: 'frame'; theta: number; torque: number; step: number; episode: number; mode: 'train' | 'watch' }
  | {
      type: 'episode';
      row: EpisodeRow;
      stepsPerSecond: number;
      updates: number;
      /** Blocks (of matmuls and split kernels) that the pool's worker threads, not the training worker, computed so far. */
      blocksByWorkers: number;
    }
  | { type: 'state'; running: boolean; mode: 'train' | 'watch' }
  | { type: 'file'; bytes: ArrayBuffer; name: string }
  | {
      type: 'loaded';
      name: string;
      configSource: string;
      preset: string;
      keys: string[];
      /** The deterministic action for the first observation of `reset({ seed })`. */
      observation: number[];
      action: number[];
    }
  | { type: 'error'; message: string };
