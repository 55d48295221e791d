/**
 * A classifier: an MLP trained with `crossEntropyLoss` on two moons, the data set of
 * micrograd's demo (sklearn's `make_moons`), generated from a seed.
 *
 *   npx tsx examples/classifier.ts [seed]
 *
 * Two interleaved half circles with Gaussian noise (σ = 0.1), 200 points; a 2-16-16-2
 * network with tanh hidden layers gives two logits per point; full-batch Adam minimises the
 * cross-entropy of the logits and the class indices. Prints the loss as it trains and the
 * training accuracy (the argmax of the logits against the labels).
 */
import { pathToFileURL } from 'node:url';
import * as A from '@chainrule/autograd';
import { Adam, crossEntropyLoss, Linear, Sequential } from '@chainrule/nn';
import * as T from '@chainrule/tensor';

/** Two moons: `n` points (half per class), with `noise` the σ of the Gaussian jitter. */
export function makeMoons(n: number, noise: number, rng: T.Rng): { x: T.Tensor; y: T.Tensor } {
  const half = Math.floor(n / 2);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const upper = i < half;
    const t = (Math.PI * (upper ? i : i - half)) / ((upper ? half : n - half) - 1);
    // upper moon: (cos t, sin t); lower moon: (1 − cos t, ½ − sin t), as make_moons
    const px = upper ? Math.cos(t) : 1 - Math.cos(t);
    const py = upper ? Math.sin(t) : 0.5 - Math.sin(t);
    xs.push(px + rng.normal(0, noise), py + rng.normal(0, noise));
    ys.push(upper ? 0 : 1);
  }
  return { x: T.tensor(xs, { shape: [n, 2] }), y: T.tensor(ys) };
}

/** What {@link trainClassifier} reports. */
export interface ClassifierResult {
  /** The cross-entropy after each logged step: [step, loss]. */
  losses: [number, number][];
  /** Training accuracy, in [0, 1]. */
  accuracy: number;
}

/** Train the MLP on two moons from `seed` for `steps` full-batch Adam steps. */
export function trainClassifier(seed = 0, steps = 200): ClassifierResult {
  const rng = new T.Rng(seed);
  const { x, y } = makeMoons(200, 0.1, rng);
  const model = new Sequential(
    new Linear(2, 16, { activation: 'tanh', rng }),
    new Linear(16, 16, { activation: 'tanh', rng }),
    new Linear(16, 2, { rng }),
  );
  const opt = new Adam(model.parameters(), { lr: 0.02 });
  const input = A.input(T.keep(x));
  const target = A.input(T.keep(y));
  const losses: [number, number][] = [];
  for (let step = 1; step <= steps; step++) {
    T.tidy(() => {
      opt.zeroGrad();
      const loss = crossEntropyLoss(model.forward(input), target);
      loss.backward();
      opt.step();
      if (step === 1 || step % 50 === 0) losses.push([step, loss.value.dataSync()[0]!]);
    });
  }
  const accuracy = T.tidy(() => {
    const logits = A.noGrad(() => model.forward(input)).value.dataSync();
    const labels = y.dataSync();
    let right = 0;
    for (let i = 0; i < labels.length; i++) {
      const predicted = logits[2 * i + 1]! > logits[2 * i]! ? 1 : 0;
      if (predicted === labels[i]) right++;
    }
    return right / labels.length;
  });
  return { losses, accuracy };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const seed = Number(process.argv[2] ?? 0);
  const { losses, accuracy } = trainClassifier(seed);
  for (const [step, loss] of losses) console.log(`step ${String(step).padStart(3)}  loss ${loss.toFixed(4)}`);
  console.log(`training accuracy ${(100 * accuracy).toFixed(1)}%`);
}
