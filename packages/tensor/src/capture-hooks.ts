/**
 * The hooks through which the replay layer (capture.ts) watches a function run: the op
 * runner reports kernels, `Tensor.assign` reports assignments, `dataSync` reports reads and
 * `Rng` reports random draws. Nothing is recorded unless a capture is running; outside one
 * each hook is a single `undefined` check.
 * @module
 */
import type { KernelFunc } from './backend.ts';
import type { Tensor } from './tensor.ts';

/** What a running capture is told. */
export interface CaptureRecorder {
  /** A kernel ran: `fn` (op `op`) filled `outputs` from `inputs` with `attrs`. */
  kernel(
    op: string,
    fn: KernelFunc,
    inputs: readonly Tensor[],
    outputs: readonly Tensor[],
    attrs: unknown,
  ): void;
  /** `variable.assign(value)` is about to run. */
  assign(variable: Tensor, value: Tensor): void;
  /** `t.dataSync()` (or `item()`, `toArray()`) is about to copy data out. */
  read(t: Tensor): void;
  /** Something happened that a replay could not repeat. */
  fail(reason: string): void;
}

let active: CaptureRecorder | undefined;

/** @internal The running capture, if any. */
export function activeRecorder(): CaptureRecorder | undefined {
  return active;
}

/** @internal Install `r` as the running capture (undefined: none); returns the previous one. */
export function setRecorder(r: CaptureRecorder | undefined): CaptureRecorder | undefined {
  const previous = active;
  active = r;
  return previous;
}

/** @internal Called by `Tensor.assign`. */
export function noteAssign(variable: Tensor, value: Tensor): void {
  active?.assign(variable, value);
}

/** @internal Called by `Tensor.dataSync`. */
export function noteRead(t: Tensor): void {
  active?.read(t);
}

/** @internal Called by `Rng` for every draw. */
export function noteRandom(): void {
  active?.fail(
    'it draws random numbers from an Rng, and a replay would repeat the captured draws; draw them outside and pass them in as an argument',
  );
}

/**
 * Declare that the code running now cannot be replayed (it sets host state that a replay
 * would freeze, such as an optimiser's learning rate). Inside a capture this ends the
 * capture: the replayable function then runs eagerly, and `stats().eagerReason` is
 * `reason`. Outside a capture it does nothing.
 */
export function notReplayable(reason: string): void {
  active?.fail(reason);
}

let epoch = 0;

/** @internal A counter that {@link invalidateCaptures} moves on; replayable functions compare it. */
export function captureEpoch(): number {
  return epoch;
}

/**
 * Drop every captured plan (they capture again on their next call). For code that replaces
 * a variable *object* (autograd's `Var.value = t` on a parameter): a plan holds the variables
 * it read, so after such a swap it would read the old one. `assign()` needs no such call.
 */
export function invalidateCaptures(): void {
  epoch++;
}
