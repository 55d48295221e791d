"""Plot a run's Reward and Qmax Value from its event files, read by read_tfevents.py.

Usage: plot_tfevents.py RUN_DIR OUT.png   (python3 with matplotlib, protobuf and crc32c)
This made docs/images/tensorboard-scalars.png: what TensorBoard's scalars tab shows, drawn
without TensorBoard (which does not install here).
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from read_tfevents import build_event_class, read_run  # noqa: E402


def smooth(values, weight=0.6):
    """TensorBoard's default smoothing: an exponential moving average, debiased."""
    out, last, n = [], 0.0, 0
    for v in values:
        n += 1
        last = last * weight + (1 - weight) * v
        out.append(last / (1 - weight ** n))
    return out


def main():
    run_dir, out = sys.argv[1], sys.argv[2]
    run = read_run(run_dir, build_event_class())
    tags = ["Reward", "Qmax Value"]
    fig, axes = plt.subplots(1, len(tags), figsize=(9, 3.2), dpi=110)
    for ax, tag in zip(axes, tags):
        steps = [s for s, _ in run[tag]]
        values = [v for _, v in run[tag]]
        ax.plot(steps, values, color="#f57c00", alpha=0.3, linewidth=1)
        ax.plot(steps, smooth(values), color="#f57c00", linewidth=1.6)
        ax.set_title(tag, loc="left", fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(True, color="#e0e0e0", linewidth=0.6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    fig.suptitle(f"{os.path.basename(os.path.normpath(run_dir))}: its event files, read by read_tfevents.py "
                 "(light: raw; dark: smoothed 0.6, as TensorBoard draws them)",
                 x=0.01, ha="left", fontsize=8, color="#555")
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    main()
