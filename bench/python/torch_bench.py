#!/usr/bin/env python3
"""The PyTorch contender of `pnpm bench` (bench/src/contenders/torch.ts drives it).

    python3 torch_bench.py probe            # JSON: torch version, BLAS, threads; or why torch is unusable
    python3 torch_bench.py run REQUEST.json  # JSON: verification dumps and timed rows

The request (written by torch.ts) names the cases, the sampling plan, the thread counts
and binary files (little-endian float32, row-major) with the inputs: the same seeded
matmul operands, DDPG batches and initial parameters that every JS contender uses.
Tensors are named and laid out as in chainrule (`fc1.weight` is [in, out]); PyTorch's
nn.Linear keeps [out, in], so weights are transposed on the way in and out.

The DDPG update mirrors chainrule's agent (packages/ddpg/src/agent.ts) step by step:
target y without a graph (target networks in training mode, as chainrule's are), critic
step on MSE with Adam's L2 weight decay (λθ added to the gradient, as in chainrule and
torch.optim.Adam), actor step by the explicit chain rule (∇aQ, then the VJP through μ),
soft update of the parameters and a copy of the BatchNorm running statistics.

Timing follows the JS harness (bench/src/harness.ts + tinybench 6): an untimed check run
whose time sizes the sample count, a warm-up loop while (time < warmupMs or count <
warmupIterations), then timed runs while (time < timeMs or count < samples), each sample
one time.perf_counter() difference. Only JSON goes to stdout; diagnostics go to stderr.
"""

import copy
import ctypes
import json
import math
import os
import platform
import re
import sys
import time

PROTOCOL = 1


def fail(message):
    print(json.dumps({"protocol": PROTOCOL, "available": False, "reason": message}))
    sys.exit(0)


try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn
except Exception as e:  # ImportError, or a broken install raising something else
    fail(f"cannot import torch in {sys.executable}: {type(e).__name__}: {e}")


# ---------------------------------------------------------------------------------------
# BLAS: which library torch's float32 GEMM calls, and its thread count.


def loaded_blas_libraries():
    """Shared objects in this process whose names say BLAS (read from /proc/self/maps)."""
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return []
    libs = set(re.findall(r"(/\S*(?:blas|mkl_rt|libmkl)\S*\.so\S*)", maps))
    return sorted(libs)


class Blas:
    """The loaded BLAS. OpenBLAS's pthread build ignores torch.set_num_threads (which sets
    OpenMP's and MKL's counts), so its own thread count is set through its C API."""

    def __init__(self):
        # Load the BLAS: torch links libblas.so.3 but only touches it on the first GEMM.
        torch.mm(torch.ones(8, 8), torch.ones(8, 8))
        self.libraries = loaded_blas_libraries()
        self.openblas = None
        for path in self.libraries:
            if "openblas" in os.path.basename(path):
                try:
                    lib = ctypes.CDLL(path)
                    lib.openblas_get_config.restype = ctypes.c_char_p
                    lib.openblas_get_corename.restype = ctypes.c_char_p
                    self.openblas = lib
                    break
                except (OSError, AttributeError):
                    continue

    @property
    def name(self):
        if self.openblas is not None:
            return "openblas"
        if any("/blas/" in p or os.path.basename(p).startswith("libblas.so") for p in self.libraries):
            return "reference"
        if any("mkl" in p for p in self.libraries):
            return "mkl"
        return "unknown"

    def set_threads(self, n):
        if self.openblas is not None:
            self.openblas.openblas_set_num_threads(n)

    def threads(self):
        return self.openblas.openblas_get_num_threads() if self.openblas is not None else None

    def info(self):
        out = {"name": self.name, "libraries": [os.path.realpath(p) for p in self.libraries]}
        if self.openblas is not None:
            out["config"] = self.openblas.openblas_get_config().decode().strip()
            out["corename"] = self.openblas.openblas_get_corename().decode().strip()
        return out


def set_threads(blas, n):
    torch.set_num_threads(n)
    blas.set_threads(n)


def probe_info(blas):
    return {
        "protocol": PROTOCOL,
        "available": True,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "executable": sys.executable,
        "blas": blas.info(),
        "defaultThreads": torch.get_num_threads(),
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")},
    }


# ---------------------------------------------------------------------------------------
# Inputs


def load(spec):
    """A tensor from {file, shape} (float32, row-major)."""
    data = np.fromfile(spec["file"], dtype="<f4")
    n = math.prod(spec["shape"])
    if data.size != n:
        raise ValueError(f"{spec['file']}: {data.size} floats, expected {n} for shape {spec['shape']}")
    return torch.from_numpy(data.reshape(spec["shape"]).copy())


def is_linear_weight(module, name):
    owner = module.get_submodule(name.rsplit(".", 1)[0])
    return isinstance(owner, nn.Linear) and name.endswith(".weight")


# ---------------------------------------------------------------------------------------
# Networks (packages/ddpg/src/networks.ts)


class Actor(nn.Module):
    """Hidden Linear → (BatchNorm) → ReLU layers, then Linear → tanh scaled to the bounds."""

    def __init__(self, cfg, spaces):
        super().__init__()
        self.bn = cfg["batchNorm"]
        self.hidden = []
        d = spaces["obsDim"]
        for i, h in enumerate(cfg["actorHidden"]):
            self.add_module(f"fc{i + 1}", nn.Linear(d, h))
            if self.bn:
                self.add_module(f"bn{i + 1}", nn.BatchNorm1d(h, eps=1e-5, momentum=0.1))
            self.hidden.append(i + 1)
            d = h
        self.out = nn.Linear(d, spaces["actDim"], bias=cfg["actorBias"])
        self.tanh = cfg["actorOutput"] == "tanh"
        lo = torch.tensor(spaces["actionLow"], dtype=torch.float32)
        hi = torch.tensor(spaces["actionHigh"], dtype=torch.float32)
        self.register_buffer("scale", (hi - lo) / 2, persistent=False)
        self.register_buffer("offset", (hi + lo) / 2, persistent=False)

    def forward(self, s):
        h = s
        for i in self.hidden:
            h = getattr(self, f"fc{i}")(h)
            h = F.relu(getattr(self, f"bn{i}")(h) if self.bn else h)
        z = self.out(h)
        return torch.tanh(z) * self.scale + self.offset if self.tanh else z + self.offset


class Critic(nn.Module):
    """The action joins layer `actionLayer` (1-based) by concatenation; BatchNorm only on the state path."""

    def __init__(self, cfg, spaces):
        super().__init__()
        self.action_layer = cfg["actionLayer"]
        self.layers = []
        d = spaces["obsDim"]
        for i, h in enumerate(cfg["criticHidden"]):
            layer = i + 1
            if layer == self.action_layer:
                d += spaces["actDim"]
            self.add_module(f"fc{layer}", nn.Linear(d, h))
            bn = cfg["batchNorm"] and layer < self.action_layer
            if bn:
                self.add_module(f"bn{layer}", nn.BatchNorm1d(h, eps=1e-5, momentum=0.1))
            self.layers.append((layer, bn))
            d = h
        self.out = nn.Linear(d, 1)

    def forward(self, s, a):
        h = s
        for layer, bn in self.layers:
            if layer == self.action_layer:
                h = torch.cat([h, a], 1)
            h = getattr(self, f"fc{layer}")(h)
            h = F.relu(getattr(self, f"bn{layer}")(h) if bn else h)
        return self.out(h)


def load_module(module, prefix, tensors):
    """Set every parameter of `module` from chainrule-named tensors (`prefix.fc1.weight`, ...)."""
    params = dict(module.named_parameters())
    missing = [n for n in params if f"{prefix}.{n}" not in tensors]
    if missing:
        raise ValueError(f"{prefix}: no initial value for {', '.join(missing)}")
    with torch.no_grad():
        for n, p in params.items():
            t = tensors[f"{prefix}.{n}"]
            if is_linear_weight(module, n):
                t = t.t()
            if tuple(t.shape) != tuple(p.shape):
                raise ValueError(f"{prefix}.{n}: got shape {list(t.shape)}, torch wants {list(p.shape)}")
            p.copy_(t)


def soft_update(target, source, tau):
    """θ′ ← θ′ + τ(θ − θ′) (chainrule's lerp), and copy the running statistics (softUpdate's default)."""
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters()):
            t.lerp_(s, tau)
        for t, s in zip(target.buffers(), source.buffers()):
            t.copy_(s)


class Agent:
    """DDPG or TD3 on one fixed batch; `cycle()` is one bench iteration (policyDelay updates)."""

    def __init__(self, cfg, spaces, tensors, batch, seed=1):
        self.cfg = cfg
        self.td3 = cfg["algo"] == "td3"
        self.actor = Actor(cfg, spaces)
        load_module(self.actor, "actor", tensors)
        self.critics = [Critic(cfg, spaces)]
        load_module(self.critics[0], "critic", tensors)
        if self.td3:
            self.critics.append(Critic(cfg, spaces))
            load_module(self.critics[1], "critic2", tensors)
        # Targets start as copies of the online networks, running statistics included.
        self.actor_t = copy.deepcopy(self.actor)
        self.critics_t = [copy.deepcopy(c) for c in self.critics]
        for p in [*self.actor_t.parameters(), *(p for c in self.critics_t for p in c.parameters())]:
            p.requires_grad_(False)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg["actorLr"])
        self.critic_opts = [
            torch.optim.Adam(c.parameters(), lr=cfg["criticLr"], weight_decay=cfg["criticWeightDecay"])
            for c in self.critics
        ]
        self.s, self.a, self.r, self.s2, self.done = (batch[k] for k in ("s", "a", "r", "s2", "done"))
        self.lo = torch.tensor(spaces["actionLow"], dtype=torch.float32)
        self.hi = torch.tensor(spaces["actionHigh"], dtype=torch.float32)
        self.gen = torch.Generator().manual_seed(seed)
        self.updates = 0
        self.critic_loss = math.nan
        self.actor_loss = math.nan

    def target_q(self):
        with torch.no_grad():
            a2 = self.actor_t(self.s2)
            if self.td3:
                noise = torch.randn(a2.shape, generator=self.gen) * self.cfg["targetNoise"]
                eps = noise.clamp(-self.cfg["targetNoiseClip"], self.cfg["targetNoiseClip"])
                a2 = torch.minimum(torch.maximum(a2 + eps, self.lo), self.hi)
            q2 = self.critics_t[0](self.s2, a2)
            for c in self.critics_t[1:]:
                q2 = torch.minimum(q2, c(self.s2, a2))
            return self.r + (1 - self.done) * self.cfg["gamma"] * q2

    def critic_step(self, critic, opt, y):
        loss = F.mse_loss(critic(self.s, self.a), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    def actor_step(self, keep_loss=False):
        params = list(self.actor.parameters())
        a = self.actor(self.s)
        q = self.critics[0](self.s, a)
        if self.cfg["actorUpdate"] == "chain":
            # 1. ∇a Q(s, a) at a = μ(s); 2. the VJP of μ with the seed −∇aQ / N.
            (dqda,) = torch.autograd.grad(q.sum(), a)
            grads = torch.autograd.grad(a, params, grad_outputs=-dqda / self.s.shape[0])
        else:
            grads = torch.autograd.grad(-q.mean(), params)
        for p, g in zip(params, grads):
            p.grad = g
        self.actor_opt.step()
        if keep_loss:
            self.actor_loss = -q.detach().mean().item()

    def update(self, keep_loss=False):
        y = self.target_q()
        losses = [self.critic_step(c, o, y) for c, o in zip(self.critics, self.critic_opts)]
        # The one readback per update that every contender does: the critic loss.
        self.critic_loss = sum(l.item() for l in losses) / len(losses)
        self.updates += 1
        if self.updates % self.cfg["policyDelay"] == 0:
            self.actor_step(keep_loss)
            tau = self.cfg["tau"]
            soft_update(self.actor_t, self.actor, tau)
            for t, c in zip(self.critics_t, self.critics):
                soft_update(t, c, tau)

    def cycle(self):
        for _ in range(self.cfg["policyDelay"]):
            self.update()
        if not math.isfinite(self.critic_loss):
            raise FloatingPointError(f"critic loss is {self.critic_loss}")

    def state(self):
        """Every tensor under chainrule's agent.tensors() names and layouts."""
        out = {}
        nets = [("actor", self.actor), ("critic", self.critics[0]), ("actorTarget", self.actor_t), ("criticTarget", self.critics_t[0])]
        if self.td3:
            nets += [("critic2", self.critics[1]), ("critic2Target", self.critics_t[1])]
        for prefix, net in nets:
            for n, p in net.named_parameters():
                out[f"{prefix}.{n}"] = p.detach().t() if is_linear_weight(net, n) else p.detach()
            for n, b in net.named_buffers():
                if n.endswith("running_mean"):
                    out[f"{prefix}.{n[: -len('running_mean')]}runningMean"] = b
                elif n.endswith("running_var"):
                    out[f"{prefix}.{n[: -len('running_var')]}runningVar"] = b
        opts = [("actor", self.actor, self.actor_opt), ("critic", self.critics[0], self.critic_opts[0])]
        if self.td3:
            opts.append(("critic2", self.critics[1], self.critic_opts[1]))
        for name, net, opt in opts:
            for i, (n, p) in enumerate(net.named_parameters()):
                st = opt.state.get(p, {})
                for key, slot in (("exp_avg", "m"), ("exp_avg_sq", "v")):
                    if key in st:
                        t = st[key]
                        out[f"opt.{name}.{i}.{slot}"] = t.t() if is_linear_weight(net, n) else t
        return out


def ddpg_agent(task):
    tensors = {name: load(spec) for name, spec in task["params"].items()}
    batch = {k: load(spec) for k, spec in task["batch"].items()}
    return Agent(task["config"], task["spaces"], tensors, batch)


# ---------------------------------------------------------------------------------------
# Cases and timing


def matmul_runner(task):
    a = load(task["a"])
    b = load(task["b"])
    last = {}

    def run():
        # torch.mm returns a CPU tensor; .numpy() is the readback (a view, no copy needed).
        last["c"] = torch.mm(a, b).numpy()

    return run, lambda: last["c"]


def measure(run, plan, max_samples):
    """The harness's sampling policy (bench/src/harness.ts runContender); returns the samples, ms."""
    t0 = time.perf_counter()
    run()
    first = (time.perf_counter() - t0) * 1e3
    estimate = max(first, 1e-3)
    cap = max_samples if max_samples is not None else math.inf
    samples = int(min(cap, max(plan["minSamples"], min(plan["samples"], math.floor(plan["maxTaskMs"] / estimate)))))
    warm = estimate <= plan["noWarmupAboveMs"] and plan["warmupIterations"] > 0
    budget = 0 if estimate * samples > plan["maxTaskMs"] else min(plan["timeMs"], plan["maxTaskMs"])
    if warm:
        total, n = 0.0, 0
        while total < plan["warmupMs"] or n < plan["warmupIterations"]:
            t0 = time.perf_counter()
            run()
            total += (time.perf_counter() - t0) * 1e3
            n += 1
    out = []
    total = 0.0
    while total < budget or len(out) < samples:
        t0 = time.perf_counter()
        run()
        dt = (time.perf_counter() - t0) * 1e3
        out.append(dt)
        total += dt
    return out


def quantile(sorted_xs, q):
    pos = (len(sorted_xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def write_f32(path, t):
    arr = np.ascontiguousarray(t.detach().numpy() if isinstance(t, torch.Tensor) else t, dtype="<f4")
    arr.tofile(path)


def run_task(task, plan, blas, threads, out_dir):
    row = {"case": task["case"], "threads": threads, "status": "ok"}
    try:
        set_threads(blas, threads)
        row["torchThreads"] = torch.get_num_threads()
        row["blasThreads"] = blas.threads()
        if task["kind"] == "matmul":
            run, output = matmul_runner(task)
        elif task["kind"] == "ddpg":
            agent = ddpg_agent(task)
            run, output = agent.cycle, None
        else:
            raise ValueError(f"unknown task kind {task['kind']!r}")
        with torch.inference_mode(task["kind"] == "matmul"):
            samples = sorted(measure(run, plan, task.get("maxSamples")))
        if output is not None:
            # The harness compares the output of the check run; a matmul is the same every run.
            path = os.path.join(out_dir, f"{task['id']}-{threads}t.f32")
            write_f32(path, output())
            row["outputFile"] = path
        row.update(
            samples=len(samples),
            medianMs=quantile(samples, 0.5),
            p10Ms=quantile(samples, 0.1),
            p90Ms=quantile(samples, 0.9),
        )
    except Exception as e:
        row.update(status="error", error=f"{type(e).__name__}: {e}")
    return row


def verify_task(task, blas, out_dir):
    """One update from the given state; the whole agent state goes to a float32 file."""
    set_threads(blas, 1)
    agent = ddpg_agent(task)
    for _ in range(task["config"]["policyDelay"]):
        agent.update(keep_loss=True)
    state = agent.state()
    path = os.path.join(out_dir, f"{task['id']}-state.f32")
    manifest, offset = [], 0
    with open(path, "wb") as f:
        for name, t in state.items():
            arr = np.ascontiguousarray(t.detach().numpy(), dtype="<f4")
            arr.tofile(f)
            manifest.append({"name": name, "shape": list(arr.shape), "offset": offset})
            offset += arr.size
    return {"case": task["case"], "file": path, "tensors": manifest, "criticLoss": agent.critic_loss, "actorLoss": agent.actor_loss}


def main(argv):
    if len(argv) < 2 or argv[1] not in ("probe", "run"):
        print(__doc__, file=sys.stderr)
        return 2
    blas = Blas()
    if argv[1] == "probe":
        print(json.dumps(probe_info(blas)))
        return 0
    with open(argv[2]) as f:
        req = json.load(f)
    if req.get("protocol") != PROTOCOL:
        raise SystemExit(f"request protocol {req.get('protocol')}, this script speaks {PROTOCOL}")
    out_dir = req["outDir"]
    verified = [verify_task(t, blas, out_dir) for t in req.get("verify", [])]
    rows = []
    for task in req.get("tasks", []):
        for n in task["threads"]:
            rows.append(run_task(task, req["plan"], blas, n, out_dir))
            print(f"torch {task['case']} {n}t: {rows[-1].get('medianMs', rows[-1].get('error'))}", file=sys.stderr)
    print(json.dumps({**probe_info(blas), "verify": verified, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
