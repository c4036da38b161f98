"""The training log of a run: loss.csv (one row per epoch) and loss.png (drawn when asked: the
trainer draws it at the end of each stage)."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

from reactbench.atomic import atomic_path


def write_log(log: list[dict], out: Path, plot: bool = True) -> None:
    """loss.csv (one row per epoch) and, if ``plot`` and the optional package matplotlib is
    installed, loss.png (train and val loss per stage)."""
    if not log:
        return
    with atomic_path(out / "loss.csv") as tmp, tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(log[0]))
        w.writeheader()
        w.writerows(log)
    if plot and can_plot():
        _plot(log, out)


def can_plot() -> bool:
    """Whether matplotlib (the ``plot`` extra) is installed."""
    return importlib.util.find_spec("matplotlib") is not None


def _plot(log: list[dict], out: Path) -> None:
    """loss.png: one panel per stage."""
    import matplotlib  # heavy: only when the loss plot is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # heavy: only when the loss plot is drawn

    stages = sorted({r["stage"] for r in log})
    width = 5 * len(stages)
    fig, axes = plt.subplots(1, len(stages), figsize=(width, 3.5), squeeze=False)
    # margins in inches for the tick labels and titles (tight_layout would draw the figure twice)
    fig.subplots_adjust(left=0.75 / width, right=1 - 0.2 / width, bottom=0.16, top=0.88,
                        wspace=0.3)
    for ax, s in zip(axes[0], stages):
        rows = [r for r in log if r["stage"] == s]
        ax.plot([r["epoch"] for r in rows], [r["train_loss"] for r in rows], label="train")
        val = [r for r in rows if r["val_loss"] is not None]
        if val:
            ax.plot([r["epoch"] for r in val], [r["val_loss"] for r in val], "o-", label="val")
        ax.set_title(f"stage {s}: " + ("MMT autoencoder" if s == 1 else "latent diffusion"))
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
    try:
        with atomic_path(out / "loss.png", suffix=".png") as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)


# ---- the whole job -------------------------------------------------------------------------
