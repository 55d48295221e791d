/**
 * The code of docs/nn.md, run. Every ```ts block of the document (without its import lines)
 * must appear in this file between `docs:begin` / `docs:end` markers, whitespace aside, and
 * every name the blocks import must be exported by the package they import it from.
 */
import * as fs from 'node:fs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as A from '@chainrule/autograd';
import { input, noGrad, type Var } from '@chainrule/autograd';
import * as nn from '@chainrule/nn';
import {
  Adam,
  BatchNorm1d,
  crossEntropyLoss,
  hardUpdate,
  type Init,
  Linear,
  Module,
  mseLoss,
  Sequential,
  type StateDict,
  softUpdate,
} from '@chainrule/nn';
import * as nnNode from '@chainrule/nn/node';
import { loadSync, saveSync } from '@chainrule/nn/node';
import * as T from '@chainrule/tensor';
import { Rng } from '@chainrule/tensor';
import { afterAll, describe, expect, it } from 'vitest';

const HERE = dirname(fileURLToPath(import.meta.url));
const DOC = join(HERE, '../../../docs/nn.md');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const arr = (x: Var | T.Tensor) => Array.from((x instanceof A.Var ? x.value : x).dataSync());

// docs:begin networks
const FINAL: Init = { uniform: [-3e-3, 3e-3] };

/** μ(s): obs → 400 (BatchNorm, ReLU) → 300 (BatchNorm, ReLU) → act, tanh · bound. */
class Actor extends Module {
  readonly fc1: Linear;
  readonly bn1: BatchNorm1d;
  readonly fc2: Linear;
  readonly bn2: BatchNorm1d;
  readonly out: Linear;
  readonly bound: number;
  constructor(obsDim: number, actDim: number, bound: number, rng: Rng, [h1, h2] = [400, 300]) {
    super();
    this.bound = bound;
    // Hidden layers keep the default init, U(±1/√fanIn), for weights and biases.
    this.fc1 = this.registerModule('fc1', new Linear(obsDim, h1, { rng }));
    this.bn1 = this.registerModule('bn1', new BatchNorm1d(h1));
    this.fc2 = this.registerModule('fc2', new Linear(h1, h2, { rng }));
    this.bn2 = this.registerModule('bn2', new BatchNorm1d(h2));
    const last = new Linear(h2, actDim, { rng, init: FINAL, activation: 'tanh' });
    this.out = this.registerModule('out', last);
  }
  forward(obs: Var): Var {
    const h1 = A.relu(this.bn1.forward(this.fc1.forward(obs)));
    const h2 = A.relu(this.bn2.forward(this.fc2.forward(h1)));
    return A.mul(this.out.forward(h2), this.bound);
  }
}

/** Q(s, a): obs → 400 (BatchNorm, ReLU); the action joins at layer 2 → 300 (ReLU) → 1. */
class Critic extends Module {
  readonly fc1: Linear;
  readonly bn1: BatchNorm1d;
  readonly fc2: Linear;
  readonly out: Linear;
  constructor(obsDim: number, actDim: number, rng: Rng, [h1, h2] = [400, 300]) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(obsDim, h1, { rng }));
    this.bn1 = this.registerModule('bn1', new BatchNorm1d(h1));
    const fc2 = new Linear(h1 + actDim, h2, { rng, activation: 'relu' });
    this.fc2 = this.registerModule('fc2', fc2);
    this.out = this.registerModule('out', new Linear(h2, 1, { rng, init: FINAL }));
  }
  forward(obs: Var, action: Var): Var {
    const h1 = A.relu(this.bn1.forward(this.fc1.forward(obs)));
    const h2 = this.fc2.forward(A.concat([h1, action], 1));
    return this.out.forward(h2);
  }
}
// docs:end

/**
 * Updates in the flat-memory test: 1,000 in `pnpm test` (a few seconds), 10,000 in
 * `pnpm test:memory` (about half a minute), which sets CHAINRULE_MEMORY_UPDATES.
 */
const UPDATES = Number(process.env.CHAINRULE_MEMORY_UPDATES ?? 1000);
const PaperActor = Actor;
const PaperCritic = Critic;

// docs:begin pytorch
/** A PyTorch state dict (e.g. from safetensors.torch.save_file) in our layout. */
function fromPyTorch(sd: StateDict): StateDict {
  const out: StateDict = {};
  for (const [key, t] of Object.entries(sd)) {
    if (key.endsWith('.num_batches_tracked')) continue; // we keep no such counter
    const name = key.replace(/\.running_mean$/, '.runningMean').replace(/\.running_var$/, '.runningVar');
    // nn.Linear.weight is [out, in], ours is [in, out]; BatchNorm's weight is 1-D.
    out[name] = t.rank === 2 && key.endsWith('.weight') ? T.transpose(t) : t;
  }
  return out;
}
// docs:end

describe('docs/nn.md: a classifier', () => {
  it('trains an MLP with crossEntropyLoss on two moons to at least 97% training accuracy', () => {
    // docs:begin classifier
    // Two moons (sklearn's make_moons, micrograd's demo): 200 points, Gaussian noise σ = 0.1.
    const rng = new T.Rng(0);
    const n = 200;
    const points: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const upper = i < n / 2;
      const t = (Math.PI * (i % (n / 2))) / (n / 2 - 1);
      const [px, py] = upper ? [Math.cos(t), Math.sin(t)] : [1 - Math.cos(t), 0.5 - Math.sin(t)];
      points.push(px + rng.normal(0, 0.1), py + rng.normal(0, 0.1));
      labels.push(upper ? 0 : 1);
    }
    const x = A.input(T.keep(T.tensor(points, { shape: [n, 2] })));
    const y = A.input(T.keep(T.tensor(labels))); // class indices, in a float tensor

    const model = new Sequential(
      new Linear(2, 16, { activation: 'tanh', rng }),
      new Linear(16, 16, { activation: 'tanh', rng }),
      new Linear(16, 2, { rng }), // two logits per point
    );
    const opt = new Adam(model.parameters(), { lr: 0.02 });
    for (let step = 1; step <= 200; step++) {
      const loss = T.tidy(() => {
        opt.zeroGrad();
        const l = crossEntropyLoss(model.forward(x), y); // log-softmax, then the mean NLL
        l.backward();
        opt.step();
        return l.value.dataSync()[0]!;
      });
      if (step === 1 || step === 200) console.log(`step ${step}: loss ${loss.toFixed(2)}`);
    }
    const logits = A.noGrad(() => model.forward(x)).value.dataSync();
    let right = 0;
    for (let i = 0; i < n; i++) if ((logits[2 * i + 1]! > logits[2 * i]! ? 1 : 0) === labels[i]) right++;
    const accuracy = right / n;
    console.log(`training accuracy ${(100 * accuracy).toFixed(1)}%`);
    // docs:end
    expect(accuracy).toBeGreaterThanOrEqual(0.97);
  });
});

describe('docs/nn.md', () => {
  it('builds, trains, acts with and checkpoints the DDPG actor and critic', () => {
    // docs:begin setup
    const rng = new Rng(0);
    const [obsDim, actDim, bound] = [3, 1, 2];
    const actor = new Actor(obsDim, actDim, bound, rng);
    const critic = new Critic(obsDim, actDim, rng);
    const actorTarget = new Actor(obsDim, actDim, bound, rng);
    const criticTarget = new Critic(obsDim, actDim, rng);
    hardUpdate(actorTarget, actor); // parameters and BatchNorm running statistics
    hardUpdate(criticTarget, critic);
    const actorOpt = new Adam(actor.parameters(), { lr: 1e-4 });
    const criticOpt = new Adam(critic.parameters(), { lr: 1e-3, weightDecay: 1e-2 });
    // docs:end

    expect(actor.namedParameters().map(([n]) => n)).toEqual([
      'fc1.weight',
      'fc1.bias',
      'bn1.weight',
      'bn1.bias',
      'fc2.weight',
      'fc2.bias',
      'bn2.weight',
      'bn2.bias',
      'out.weight',
      'out.bias',
    ]);
    expect(critic.fc2.weight.shape).toEqual([401, 300]);
    expect(Math.max(...arr(actor.out.weight).map(Math.abs))).toBeLessThanOrEqual(3e-3);
    expect(Math.max(...arr(critic.out.bias!).map(Math.abs))).toBeLessThanOrEqual(3e-3);
    expect(Math.max(...arr(actor.fc1.weight).map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(3));
    expect(Math.max(...arr(critic.fc2.weight).map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(401));
    const criticBefore = arr(critic.out.weight);
    const actorBefore = arr(actor.fc1.weight);
    const targetBefore = arr(criticTarget.out.weight);
    expect(targetBefore).toEqual(criticBefore);

    // docs:begin update
    const [n, gamma, tau] = [64, 0.99, 0.001];

    /** One update from a minibatch of 64 (random numbers stand in for a replay buffer). */
    function update(): number {
      const s = input(T.randn([n, obsDim], rng));
      const a = input(T.uniform([n, actDim], -bound, bound, rng));
      const r = input(T.randn([n, 1], rng));
      const s2 = input(T.randn([n, obsDim], rng));

      // Critic: minimise (Q(s, a) − y)² with y = r + γ·Q′(s′, μ′(s′)) (no terminal states).
      const y = noGrad(() => A.add(r, A.mul(criticTarget.forward(s2, actorTarget.forward(s2)), gamma)));
      criticOpt.zeroGrad();
      const criticLoss = mseLoss(critic.forward(s, a), y);
      criticLoss.backward();
      criticOpt.step();

      // Actor: minimise −mean Q(s, μ(s)). This also fills the critic's .grad, which
      // criticOpt.zeroGrad() clears before the next critic step; only actorOpt steps here.
      actorOpt.zeroGrad();
      A.neg(A.mean(critic.forward(s, actor.forward(s)))).backward();
      actorOpt.step();

      // The targets trail the online networks (running statistics are copied).
      softUpdate(actorTarget, actor, tau);
      softUpdate(criticTarget, critic, tau);
      return criticLoss.item();
    }

    // Each update runs in tidy(), which releases every tensor made inside it when it returns.
    // Parameters, BatchNorm statistics and Adam's moments are variables: the steps update
    // them in place and no scope releases them (docs/memory.md). Memory stays flat.
    for (let step = 0; step < 2; step++) {
      const loss = T.tidy(update); // a real run repeats this many thousands of times
      if (!Number.isFinite(loss)) throw new Error(`critic loss ${loss} at step ${step}`);
    }
    // docs:end

    expect(arr(critic.out.weight)).not.toEqual(criticBefore);
    expect(arr(actor.fc1.weight)).not.toEqual(actorBefore);
    // One more update, outside the docs, to check the soft update's arithmetic exactly.
    const targetPrev = arr(criticTarget.out.weight);
    T.tidy(update);
    const expectedTarget = targetPrev.map((t, i) => 0.001 * arr(critic.out.weight)[i]! + 0.999 * t);
    arr(criticTarget.out.weight).forEach((v, i) => {
      expect(v).toBeCloseTo(expectedTarget[i]!, 7);
    });
    expect(arr(criticTarget.out.weight)).not.toEqual(targetBefore);
    expect(arr(criticTarget.bn1.runningMean)).toEqual(arr(critic.bn1.runningMean));

    // docs:begin act
    // Acting: eval mode, so BatchNorm uses its running statistics (one row is fine).
    // tidy() releases the forward pass's tensors and keeps the Var it returns.
    actor.eval();
    const action = T.tidy(() => noGrad(() => actor.forward(input(T.randn([1, obsDim], rng)))));
    actor.train();
    // docs:end

    expect(action.shape).toEqual([1, actDim]);
    expect(Math.abs(action.item())).toBeLessThanOrEqual(bound);
    expect(actor.training && actor.bn1.training).toBe(true);

    // docs:begin checkpoint
    const dir = mkdtempSync(join(tmpdir(), 'ddpg-'));
    // Model: the state dict as safetensors, written atomically (temporary file + rename).
    saveSync(join(dir, 'actor.safetensors'), actor.stateDict(), { step: '1' });
    const restored = new Actor(obsDim, actDim, bound, new Rng(123));
    restored.loadStateDict(loadSync(join(dir, 'actor.safetensors')).tensors);

    // Optimiser: its tensors as safetensors, the rest as string metadata.
    const st = criticOpt.stateDict();
    const meta = { kind: st.kind, step: String(st.step), hyper: JSON.stringify(st.hyper) };
    saveSync(join(dir, 'critic-adam.safetensors'), st.tensors, meta);
    const opt = new Adam(critic.parameters(), { lr: 1e-3, weightDecay: 1e-2 });
    const { tensors, metadata } = loadSync(join(dir, 'critic-adam.safetensors'));
    const { kind, step, hyper } = metadata;
    if (kind === undefined || hyper === undefined) throw new Error('not an optimiser checkpoint');
    opt.loadStateDict({ kind, step: Number(step), hyper: JSON.parse(hyper), tensors });
    // docs:end
    dirs.push(dir);

    const original = actor.stateDict();
    const loaded = restored.stateDict();
    for (const k of Object.keys(original)) expect(arr(loaded[k]!), k).toEqual(arr(original[k]!));
    expect(opt.stepCount).toBe(3);
    const a1 = opt.stateDict();
    for (const k of Object.keys(st.tensors)) expect(arr(a1.tensors[k]!), k).toEqual(arr(st.tensors[k]!));
  });

  it('imports a PyTorch-layout state dict', () => {
    // docs:begin pytorch-linear
    // PyTorch: nn.Linear(2, 3) with weight [[1, 2], [3, 4], [5, 6]] and bias [0.1, 0.2, 0.3].
    const torchSd: StateDict = {
      'fc.weight': T.tensor([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
      'fc.bias': T.tensor([0.1, 0.2, 0.3]),
    };
    const ours = fromPyTorch(torchSd);
    const fc = new Linear(2, 3, { init: 'zeros' });
    fc.loadStateDict({ weight: ours['fc.weight']!, bias: ours['fc.bias']! });
    fc.forward(input(T.tensor([[1, 1]]))); // [[3.1, 7.2, 11.3]], as in PyTorch
    // docs:end
    const yv = arr(fc.forward(input(T.tensor([[1, 1]]))));
    [3.1, 7.2, 11.3].forEach((v, i) => {
      expect(yv[i]).toBeCloseTo(v, 5);
    });
    expect(fc.weight.shape).toEqual([2, 3]);

    // A whole critic through PyTorch's names and layout and back.
    const critic = new Critic(3, 1, new Rng(5));
    critic.forward(input(T.randn([4, 3], new Rng(6))), input(T.randn([4, 1], new Rng(7))));
    const torchStyle: StateDict = { 'bn1.num_batches_tracked': T.tensor([1]) };
    for (const [k, t] of Object.entries(critic.stateDict())) {
      const name = k.replace('runningMean', 'running_mean').replace('runningVar', 'running_var');
      torchStyle[name] = t.rank === 2 ? T.transpose(t) : t;
    }
    expect(torchStyle['fc2.weight']!.shape).toEqual([300, 401]);
    const copy = new Critic(3, 1, new Rng(8));
    copy.loadStateDict(fromPyTorch(torchStyle));
    const sd = critic.stateDict();
    const sd2 = copy.stateDict();
    for (const k of Object.keys(sd)) expect(arr(sd2[k]!), k).toEqual(arr(sd[k]!));
  });

  it(`the update loop, as written, holds flat memory over ${UPDATES.toLocaleString('en')} updates on wasm`, () => {
    const before = T.memory().backends.wasm;
    T.withBackend('wasm', () => {
      // The docs' networks with 16 hidden units instead of 400 and 300, so that 10,000
      // updates take seconds; the setup and update blocks below are the docs', verbatim.
      const SMALL: [number, number] = [16, 16];
      class Actor extends PaperActor {
        constructor(obsDim: number, actDim: number, bound: number, rng: Rng) {
          super(obsDim, actDim, bound, rng, SMALL);
        }
      }
      class Critic extends PaperCritic {
        constructor(obsDim: number, actDim: number, rng: Rng) {
          super(obsDim, actDim, rng, SMALL);
        }
      }
      // docs:begin setup
      const rng = new Rng(0);
      const [obsDim, actDim, bound] = [3, 1, 2];
      const actor = new Actor(obsDim, actDim, bound, rng);
      const critic = new Critic(obsDim, actDim, rng);
      const actorTarget = new Actor(obsDim, actDim, bound, rng);
      const criticTarget = new Critic(obsDim, actDim, rng);
      hardUpdate(actorTarget, actor); // parameters and BatchNorm running statistics
      hardUpdate(criticTarget, critic);
      const actorOpt = new Adam(actor.parameters(), { lr: 1e-4 });
      const criticOpt = new Adam(critic.parameters(), { lr: 1e-3, weightDecay: 1e-2 });
      // docs:end
      // docs:begin update
      const [n, gamma, tau] = [64, 0.99, 0.001];

      /** One update from a minibatch of 64 (random numbers stand in for a replay buffer). */
      function update(): number {
        const s = input(T.randn([n, obsDim], rng));
        const a = input(T.uniform([n, actDim], -bound, bound, rng));
        const r = input(T.randn([n, 1], rng));
        const s2 = input(T.randn([n, obsDim], rng));

        // Critic: minimise (Q(s, a) − y)² with y = r + γ·Q′(s′, μ′(s′)) (no terminal states).
        const y = noGrad(() => A.add(r, A.mul(criticTarget.forward(s2, actorTarget.forward(s2)), gamma)));
        criticOpt.zeroGrad();
        const criticLoss = mseLoss(critic.forward(s, a), y);
        criticLoss.backward();
        criticOpt.step();

        // Actor: minimise −mean Q(s, μ(s)). This also fills the critic's .grad, which
        // criticOpt.zeroGrad() clears before the next critic step; only actorOpt steps here.
        actorOpt.zeroGrad();
        A.neg(A.mean(critic.forward(s, actor.forward(s)))).backward();
        actorOpt.step();

        // The targets trail the online networks (running statistics are copied).
        softUpdate(actorTarget, actor, tau);
        softUpdate(criticTarget, critic, tau);
        return criticLoss.item();
      }

      // Each update runs in tidy(), which releases every tensor made inside it when it returns.
      // Parameters, BatchNorm statistics and Adam's moments are variables: the steps update
      // them in place and no scope releases them (docs/memory.md). Memory stays flat.
      for (let step = 0; step < 2; step++) {
        const loss = T.tidy(update); // a real run repeats this many thousands of times
        if (!Number.isFinite(loss)) throw new Error(`critic loss ${loss} at step ${step}`);
      }
      // docs:end

      // The same loop, continued: memory() after a warm-up of 100 updates and at the end.
      const snapshot = () => {
        const m = T.memory().backends.wasm!;
        const { numTensors, numDataBuffers, numBytes, numVariables, wasmMemoryBytes } = m;
        return { numTensors, numDataBuffers, numBytes, numVariables, wasmMemoryBytes };
      };
      let atWarmup: ReturnType<typeof snapshot> | undefined;
      for (let step = 2; step < UPDATES; step++) {
        const loss = T.tidy(update);
        if (!Number.isFinite(loss)) throw new Error(`critic loss ${loss} at step ${step}`);
        if (step === 99) atWarmup = snapshot();
      }
      const atEnd = snapshot();
      expect(atEnd).toEqual(atWarmup);
      // What is alive is exactly the variables: 4 networks' parameters and running
      // statistics, and 2 Adams' state: m, v and the step count per parameter, and the
      // count of calls and the learning rate (0-d variables, which a replay reads).
      const live = (m: Module) => m.parameters().length + m.buffers().length;
      const variables = live(actor) + live(critic) + live(actorTarget) + live(criticTarget);
      const moments = 3 * (actor.parameters().length + critic.parameters().length) + 2 * 2;
      expect(atEnd.numVariables - (before?.numVariables ?? 0)).toBe(variables + moments);
      expect(atEnd.numTensors - (before?.numTensors ?? 0)).toBe(variables + moments);
      for (const m of [actor, critic, actorTarget, criticTarget]) m.dispose();
      actorOpt.dispose();
      criticOpt.dispose();
    });
    const after = T.memory().backends.wasm!;
    expect(after.numTensors).toBe(before?.numTensors ?? 0);
    expect(after.numBytes).toBe(before?.numBytes ?? 0);
  }, 600_000);

  it('every ts block of docs/nn.md is in this file and imports only exported names', async () => {
    const doc = readFileSync(DOC, 'utf8');
    const self = readFileSync(fileURLToPath(import.meta.url), 'utf8');
    const squash = (s: string) => s.replace(/\s+/g, ' ').trim();
    const regions = [...self.matchAll(/\/\/ docs:begin [\w-]+\n([\s\S]*?)\/\/ docs:end/g)].map((m) =>
      squash(m[1]!),
    );
    const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(new Set(regions).size);
    const packages: Record<string, object> = {
      '@chainrule/nn': nn,
      '@chainrule/nn/node': nnNode,
      '@chainrule/autograd': A,
      '@chainrule/tensor': T,
      'node:fs': fs,
      'node:os': os,
      'node:path': path,
    };
    const importRe = /^import\s+(type\s+)?(\{[\s\S]*?\}|\*\s+as\s+\w+)\s+from\s+'([^']+)';\s*$/gm;
    for (const block of blocks) {
      for (const m of block.matchAll(importRe)) {
        const mod = packages[m[3]!];
        expect(mod, `docs import from ${m[3]}`).toBeDefined();
        if (m[2]!.startsWith('{') && !m[1]) {
          const names = m[2]!
            .slice(1, -1)
            .split(',')
            .map((x) => x.trim())
            .filter((x) => x && !x.startsWith('type '));
          for (const name of names) expect(Object.keys(mod!), `${name} from ${m[3]}`).toContain(name);
        }
      }
      const code = squash(block.replace(importRe, ''));
      if (code === '') continue;
      expect(
        regions.some((r) => r === code),
        `this docs block is not in docs.test.ts:\n${block}`,
      ).toBe(true);
    }
    // And every region appears in the docs.
    const docBlocks = blocks.map((b) => squash(b.replace(importRe, '')));
    for (const r of regions) expect(docBlocks, r.slice(0, 80)).toContain(r);
  });
});
