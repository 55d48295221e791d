/**
 * TensorFlow.js contenders for every case except the end-to-end one (e2e is chainrule-only
 * wall time). Each contender creates its tensors in `setup()` on its own backend, disposes
 * every intermediate (tf.tidy / dispose) and everything it owns in `teardown()`.
 *
 * @module
 */

import * as tf from '@tensorflow/tfjs';
import { CASE, concatParts as concat } from '../cases.ts';
import type { Contender } from '../harness.ts';
import {
  adamInputs,
  batchnormInputs,
  ddpgBatch,
  ddpgInitialParams,
  denseInputs,
  matmulInputs,
} from '../inputs.ts';
import { ADAM_CASE_SPEC, type DdpgPreset, PAPER_PRESET, TD3_PRESET, TUNED_PRESET } from '../specs.ts';
import { liveTensors, type TfjsBackend, useTfjsBackend } from './tfjs-env.ts';
import { TfDdpg, tfAdam, variableFrom } from './tfjs-nets.ts';

export type { TfjsBackend } from './tfjs-env.ts';

const common = (caseName: string, backend: TfjsBackend) =>
  ({ case: caseName, impl: 'tfjs', backend, liveObjects: liveTensors }) as const;

/** `tf.matMul(a, b)` then `dataSync()`: the readback is part of the measured work. */
export function tfjsMatmul(m: number, k: number, n: number, backend: TfjsBackend): Contender {
  let a: tf.Tensor2D | undefined;
  let b: tf.Tensor2D | undefined;
  let last: Float32Array | undefined;
  return {
    ...common(`matmul ${m}x${k}x${n}`, backend),
    async setup() {
      await useTfjsBackend(backend);
      const inp = matmulInputs(m, k, n);
      a = tf.tensor2d(inp.a.slice(), [m, k]);
      b = tf.tensor2d(inp.b.slice(), [k, n]);
    },
    run() {
      const c = tf.matMul(a!, b!);
      last = c.dataSync() as Float32Array;
      c.dispose();
    },
    output: () => Float32Array.from(last!),
    teardown() {
      tf.dispose([a!, b!]);
      a = b = last = undefined;
    },
  };
}

/**
 * Dense layer forward + backward: `y = relu(x·W + b)` with `tf.fused.matMul` (what
 * `tf.layers.dense` runs), `loss = Σ y⊙g`, gradients of x, W, b by `tf.valueAndGrads`;
 * loss and all gradients are read back. Output: `[loss, dW, db, dx]`.
 */
export function tfjsDense(backend: TfjsBackend): Contender {
  let t: { x: tf.Tensor2D; w: tf.Tensor2D; b: tf.Tensor1D; g: tf.Tensor2D } | undefined;
  let f: ((args: tf.Tensor[]) => { value: tf.Scalar; grads: tf.Tensor[] }) | undefined;
  let parts: ArrayLike<number>[] = [];
  return {
    ...common(CASE.dense, backend),
    async setup() {
      await useTfjsBackend(backend);
      const inp = denseInputs();
      const tt = {
        x: tf.tensor2d(inp.x.slice(), [inp.batch, inp.in]),
        w: tf.tensor2d(inp.w.slice(), [inp.in, inp.out]),
        b: tf.tensor1d(inp.b.slice()),
        g: tf.tensor2d(inp.g.slice(), [inp.batch, inp.out]),
      };
      t = tt;
      f = tf.valueAndGrads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b, activation: 'relu' }),
            tt.g,
          ),
        ),
      ) as typeof f;
    },
    run() {
      tf.tidy(() => {
        const { value, grads } = f!([t!.x, t!.w, t!.b]);
        const [dx, dw, db] = grads;
        parts = [value.dataSync(), dw!.dataSync(), db!.dataSync(), dx!.dataSync()];
      });
    },
    output: () => concat(parts),
    teardown() {
      if (t) tf.dispose([t.x, t.w, t.b, t.g]);
      t = f = undefined;
      parts = [];
    },
  };
}

/**
 * Batch norm forward + backward in training mode, as `tf.layers.batchNormalization`
 * computes it: `tf.moments` over the batch axis (biased variance) then `tf.batchNorm`;
 * `loss = Σ y⊙g`; gradients of x, gamma, beta read back. Output: `[loss, dx, dgamma, dbeta]`.
 */
export function tfjsBatchnorm(backend: TfjsBackend): Contender {
  let t: { x: tf.Tensor2D; gamma: tf.Tensor1D; beta: tf.Tensor1D; g: tf.Tensor2D } | undefined;
  let f: ((args: tf.Tensor[]) => { value: tf.Scalar; grads: tf.Tensor[] }) | undefined;
  let parts: ArrayLike<number>[] = [];
  return {
    ...common(CASE.batchnorm, backend),
    async setup() {
      await useTfjsBackend(backend);
      const inp = batchnormInputs();
      const tt = {
        x: tf.tensor2d(inp.x.slice(), [inp.batch, inp.features]),
        gamma: tf.tensor1d(inp.gamma.slice()),
        beta: tf.tensor1d(inp.beta.slice()),
        g: tf.tensor2d(inp.g.slice(), [inp.batch, inp.features]),
      };
      t = tt;
      f = tf.valueAndGrads((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
        const { mean, variance } = tf.moments(x, 0);
        const y = tf.batchNorm(x, mean, variance, beta as tf.Tensor1D, gamma as tf.Tensor1D, inp.eps);
        return tf.sum(tf.mul(y, tt.g));
      }) as typeof f;
    },
    run() {
      tf.tidy(() => {
        const { value, grads } = f!([t!.x, t!.gamma, t!.beta]);
        const [dx, dgamma, dbeta] = grads;
        parts = [value.dataSync(), dx!.dataSync(), dgamma!.dataSync(), dbeta!.dataSync()];
      });
    },
    output: () => concat(parts),
    teardown() {
      if (t) tf.dispose([t.x, t.gamma, t.beta, t.g]);
      t = f = undefined;
      parts = [];
    },
  };
}

/**
 * One `tf.train.adam` step (`applyGradients`) over the paper critic's parameters with
 * fixed precomputed gradients. Output: all parameters in `initParams` order.
 */
export function tfjsAdam(backend: TfjsBackend): Contender {
  let vars: tf.Variable[] = [];
  let grads: { name: string; tensor: tf.Tensor }[] = [];
  let opt: tf.AdamOptimizer | undefined;
  return {
    ...common(CASE.adam, backend),
    async setup() {
      await useTfjsBackend(backend);
      const inp = adamInputs();
      vars = inp.params.map((p) => variableFrom(p.data, p.shape));
      grads = vars.map((v, i) => ({ name: v.name, tensor: tf.tensor(inp.grads[i]!.slice(), v.shape) }));
      opt = tfAdam(ADAM_CASE_SPEC);
    },
    run() {
      opt!.applyGradients(grads);
    },
    output: () => concat(vars.map((v) => v.dataSync())),
    teardown() {
      tf.dispose(vars);
      tf.dispose(grads.map((g) => g.tensor));
      opt?.dispose();
      vars = [];
      grads = [];
      opt = undefined;
    },
  };
}

/** One DDPG update cycle (see `TfDdpg.cycle`) on a fixed batch. */
export function tfjsDdpg(preset: DdpgPreset, caseName: string, backend: TfjsBackend): Contender {
  let agent: TfDdpg | undefined;
  return {
    ...common(caseName, backend),
    async setup() {
      await useTfjsBackend(backend);
      agent = new TfDdpg(preset, ddpgInitialParams(preset), ddpgBatch(preset.batch));
    },
    run() {
      agent!.cycle();
      if (!Number.isFinite(agent!.lastCriticLoss)) throw new Error(`critic loss is ${agent!.lastCriticLoss}`);
    },
    teardown() {
      agent?.dispose();
      agent = undefined;
    },
  };
}

/** Every tfjs contender on one backend (the e2e case has none: it is chainrule-only). */
export function tfjsContenders(backend: TfjsBackend): Contender[] {
  return [
    tfjsMatmul(64, 3, 400, backend),
    tfjsMatmul(64, 400, 300, backend),
    tfjsMatmul(256, 256, 256, backend),
    tfjsMatmul(1024, 1024, 1024, backend),
    tfjsDense(backend),
    tfjsBatchnorm(backend),
    tfjsAdam(backend),
    tfjsDdpg(PAPER_PRESET, CASE.ddpgPaper, backend),
    tfjsDdpg(TUNED_PRESET, CASE.ddpgTuned, backend),
    tfjsDdpg(TD3_PRESET, CASE.ddpgTd3, backend),
  ];
}
