/**
 * What a training run shows in TensorBoard: the scalars of the original DDPG code's
 * `tf.summary.scalar("Reward", …)` and `("Qmax Value", …)`, logged per episode at the env step
 * where the episode ended, plus the losses, the exploration scale, the evaluations and the speed.
 * @module
 */
import type { EpisodeEvent, EvaluationEvent, StartEvent, TrainingSink } from '@chainrule/ddpg';
import type { Scalar } from './event.ts';
import { TensorBoardWriter, type TensorBoardWriterOptions } from './writer.ts';

/** The tags a training run writes. TensorBoard groups tags by the part before a `/`. */
export const TENSORBOARD_TAGS = {
  /** The episode's return (the seeds' name). */
  reward: 'Reward',
  /** The average over the episode's updates of the critic's max Q on its batch (the seeds' name). */
  qmax: 'Qmax Value',
  criticLoss: 'Loss/Critic',
  actorLoss: 'Loss/Actor',
  explorationScale: 'Exploration Scale',
  evalMean: 'Eval/Return Mean',
  evalStd: 'Eval/Return Std',
  stepsPerSecond: 'Steps per Second',
} as const;

/** The fields of an episode the sink reads (a row of metrics.csv). */
export interface TensorBoardEpisode {
  step: number;
  return: number;
  avgMaxQ: number | null;
  criticLoss: number | null;
  actorLoss: number | null;
  /** The exploration scale (null: the agent explores without noise). */
  sigma: number | null;
}

/** The fields of an evaluation the sink reads (a row of eval.csv). */
export interface TensorBoardEvaluation {
  step: number;
  mean: number;
  std: number;
}

/**
 * Writes a run's scalars to event files in its directory. Each session of a run (the first,
 * and every resume) gets its own file, which begins with a `SessionLog START` at the first step
 * the session can log: TensorBoard then drops whatever an interrupted session wrote after the
 * checkpoint the new one continues from, and the run reads as if it had never stopped.
 */
export class TensorBoardSink {
  private readonly writer: TensorBoardWriter;

  /**
   * Start a session in `dir` that continues from `fromStep` (0 for a new run). Everything at or
   * below `fromStep` is the checkpoint's, so the restart mark goes one step after it.
   */
  constructor(dir: string, fromStep: number, options: TensorBoardWriterOptions = {}) {
    this.writer = new TensorBoardWriter(dir, options);
    this.writer.addSessionStart(fromStep + 1);
    this.writer.flush();
  }

  /** The event file of this session. */
  get path(): string {
    return this.writer.path;
  }

  /**
   * An episode's scalars at the step it ended. Values a run does not have yet (no update
   * before `learningStarts`: no Q, no losses) are left out rather than written as 0.
   */
  episode(e: TensorBoardEpisode, stepsPerSecond?: number): void {
    const t = TENSORBOARD_TAGS;
    const scalars: Scalar[] = [{ tag: t.reward, value: e.return }];
    if (e.avgMaxQ !== null) scalars.push({ tag: t.qmax, value: e.avgMaxQ });
    if (e.criticLoss !== null) scalars.push({ tag: t.criticLoss, value: e.criticLoss });
    if (e.actorLoss !== null) scalars.push({ tag: t.actorLoss, value: e.actorLoss });
    if (e.sigma !== null) scalars.push({ tag: t.explorationScale, value: e.sigma });
    if (stepsPerSecond !== undefined && stepsPerSecond > 0)
      scalars.push({ tag: t.stepsPerSecond, value: stepsPerSecond });
    this.writer.addScalars(scalars, e.step);
  }

  /** An evaluation's mean and std at its step. */
  evaluation(e: TensorBoardEvaluation): void {
    this.writer.addScalars(
      [
        { tag: TENSORBOARD_TAGS.evalMean, value: e.mean },
        { tag: TENSORBOARD_TAGS.evalStd, value: e.std },
      ],
      e.step,
    );
  }

  /**
   * Append what is queued. Call it before a checkpoint is written: what the checkpoint covers
   * must be on disk, as a resumed session logs only the steps after it.
   */
  flush(): void {
    this.writer.flush();
  }

  /** Flush and close the file. */
  close(): void {
    this.writer.close();
  }
}

/** The training loop's sink for TensorBoard, and the file it writes to. */
export interface TensorBoardTrainingSink extends TrainingSink {
  /** The event file of the current session (undefined before start and after the end). */
  readonly path: string | undefined;
}

/**
 * The training loop's sink for TensorBoard: a {@link TensorBoardSink} per session in `dir`,
 * opened when the loop starts. Every episode and evaluation is flushed as it comes, so what a
 * checkpoint covers is on disk before the checkpoint is; this is why the sink needs no
 * `position` and `rewind`: the resumed session's `SessionLog START` cuts the run back when
 * TensorBoard reads it. Steps per second are measured between episode ends (evaluations included).
 */
export function tensorBoardTrainingSink(
  dir: string,
  options: TensorBoardWriterOptions = {},
): TensorBoardTrainingSink {
  let sink: TensorBoardSink | undefined;
  let last = { step: 0, wallSeconds: 0 };
  const open = (op: string): TensorBoardSink => {
    if (!sink) throw new Error(`tensorBoardTrainingSink: ${op} before start`);
    return sink;
  };
  const close = () => {
    sink?.close();
    sink = undefined;
  };
  return {
    start(e: StartEvent): void {
      close();
      sink = new TensorBoardSink(dir, e.fromStep, options);
      last = { step: e.step, wallSeconds: e.wallSeconds };
    },
    episode(e: EpisodeEvent): void {
      const s = open('episode');
      const seconds = e.wallSeconds - last.wallSeconds;
      s.episode(e.row, seconds > 0 ? (e.step - last.step) / seconds : undefined);
      s.flush();
      last = { step: e.step, wallSeconds: e.wallSeconds };
    },
    evaluation(e: EvaluationEvent): void {
      const s = open('evaluation');
      s.evaluation(e.row);
      s.flush();
    },
    interrupted: close,
    end: close,
    get path(): string | undefined {
      return sink?.path;
    },
  };
}
