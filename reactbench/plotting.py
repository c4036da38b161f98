"""Pictures of one speaker row: what a model does, not just its numbers.

``plot_speaker`` draws, over time (seconds): valence and arousal of the speaker, the real
listener and a few generated listeners, then AU activity rasters (15 AUs x frames) of the
speaker, the real listener and the first generated listener. matplotlib, Agg backend, PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reactbench.atomic import atomic_path
from reactbench.constants import AU, AU_NAMES, VA
from reactbench.errors import ReactbenchError

SPEAKER_COLOR = "#222222"
REAL_COLOR = "#1f77b4"
GEN_COLORS = ("#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22")


def plot_speaker(
    speaker: np.ndarray,
    listener: np.ndarray,
    generated: np.ndarray,
    out: str | Path,
    *,
    title: str = "",
    fps: int = 25,
    generations: int = 3,
) -> Path:
    """Write a PNG for one row.

    speaker, listener: (T, 25) speaker behaviour and real listener reaction;
    generated: (alpha, T, 25) generated reactions (the first ``generations`` are drawn).
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    t = np.arange(speaker.shape[0]) / fps
    gens = generated[: max(1, generations)]
    fig = plt.figure(figsize=(12, 10), constrained_layout=True)
    grid = fig.add_gridspec(5, 1, height_ratios=[1.3, 1.3, 1, 1, 1])
    axes = [fig.add_subplot(grid[i]) for i in range(5)]
    for ax, col, label in ((axes[0], VA.start, "valence"), (axes[1], VA.start + 1, "arousal")):
        ax.plot(t, speaker[:, col], color=SPEAKER_COLOR, lw=1.6, label="speaker")
        ax.plot(t, listener[:, col], color=REAL_COLOR, lw=1.6, label="real listener")
        for i, g in enumerate(gens):
            ax.plot(t, g[:, col], color=GEN_COLORS[i % len(GEN_COLORS)], lw=1.0, alpha=0.85,
                    ls="--", label=f"generated #{i}")
        ax.set_ylabel(label)
        ax.set_xlim(t[0], t[-1])
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2 + len(gens), fontsize=8,
                   frameon=False)
    rasters = (("speaker AUs", speaker), ("real listener AUs", listener),
               ("generated #0 AUs", gens[0]))
    for ax, (label, seq) in zip(axes[2:], rasters):
        ax.imshow(seq[:, AU].T, aspect="auto", cmap="Greys", vmin=0, vmax=1,
                  interpolation="nearest", extent=(t[0], t[-1], len(AU_NAMES) - 0.5, -0.5))
        ax.set_yticks(range(len(AU_NAMES)), AU_NAMES, fontsize=6)
        ax.set_ylabel(label, fontsize=9)
    axes[-1].set_xlabel("time (s)")
    if title:
        fig.suptitle(title, fontsize=11)
    out = Path(out)
    try:
        with atomic_path(out, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
    return out


def plot_source(source: str | Path, *, speaker: int, out: str | Path | None = None,
                data: str | Path | None = None, split: str | None = None,
                generations: int = 3) -> Path:
    """Plot row ``speaker`` from a result file (its predictions) or a predictions file."""
    from reactbench.data import load_split, resolve_data
    from reactbench.predictions import load_predictions
    from reactbench.results import read_result

    source = Path(source)
    name = source.stem
    if source.suffix == ".json":
        record = read_result(source)
        files = [p for p in record.get("predictions") or [] if p.get("path")]
        if not files or not Path(files[0]["path"]).exists():
            raise ReactbenchError(
                f"{source}: its predictions are not on this machine (cache cleared or never "
                "stored); run the same `reactbench run` again (it regenerates them) or plot a "
                "predictions file with --data/--split"
            )
        pred_path = Path(files[0]["path"])
        root = data or record["dataset"].get("root")
        split = split or record["split"]
        name = f"{record['model']['name']}_{record['task']}"
        title_extra = f"{record['model']['name']} ({record['task']}, seed {files[0]['seed']})"
    else:
        pred_path, root, split = source, data, split or "test"
        title_extra = source.name
    root = resolve_data(root)
    split_data = load_split(root, split, audio=False, neighbours=False)
    preds = load_predictions(pred_path, speaker_ids=split_data.speaker_ids)
    emo = np.asarray(preds.emotion)
    if emo.ndim != 4 or emo.shape[0] != split_data.n:
        raise ReactbenchError(
            f"{pred_path}: predictions of shape {emo.shape} do not fit split {split} "
            f"(N = {split_data.n} rows)"
        )
    if not 0 <= speaker < split_data.n:
        raise ReactbenchError(f"--speaker {speaker}: the split has rows 0..{split_data.n - 1}")
    t = min(emo.shape[2], split_data.frames)
    out = Path(out) if out else Path(f"{name}_speaker{speaker}.png")
    return plot_speaker(
        split_data.speaker_emotion[speaker, :t],
        split_data.listener_emotion[speaker, :t],
        emo[speaker, :, :t],
        out,
        title=f"{title_extra} -- {split} row {speaker}: {split_data.speaker_ids[speaker]}",
        fps=split_data.fps,
        generations=generations,
    )
