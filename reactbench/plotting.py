"""Pictures of one speaker row: what a model does, not just its numbers.

``plot_speaker`` draws, over time (seconds): valence and arousal of the speaker, the real
listener and a few generated listeners, then AU activity rasters (15 AUs x frames) of the
speaker, the real listener and the first generated listener. matplotlib, Agg backend, PNG.

``plot_source`` checks the predictions against the split with
``reactbench.predictions.check_predictions`` (rows, speaker ids, frames, NaN/inf) and never
replaces an existing PNG unless ``force``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reactbench.atomic import atomic_path, check_target
from reactbench.constants import AU, AU_NAMES, DEFAULT_FRAMES, VA
from reactbench.data import load_split, resolve_data
from reactbench.errors import ReactbenchError, ResultsError, param
from reactbench.predictions import check_predictions, load_predictions
from reactbench.results import name_part, read_result

SPEAKER_COLOR = "#222222"
REAL_COLOR = "#1f77b4"
GEN_COLORS = ("#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22")
DEFAULT_GENERATIONS = 3  # generated reactions drawn when ``generations`` is None
FORCE_HINT = f"pass {param('force')} to replace it"


def check_png_target(out: str | Path, *, force: bool = False) -> Path:
    """Raise ResultsError unless a PNG may be written to ``out`` (a ``.png`` file path, not a
    directory, not an existing file unless ``force``); return it as a Path."""
    out = check_target(out, overwrite=force, what=param("out"), error=ResultsError,
                       hint=FORCE_HINT)
    if out.suffix.lower() != ".png":
        raise ResultsError(f"{param('out', out)}: plots are PNG files; give a path ending in .png")
    return out


def check_generations(generations: int | None, alpha: int | None) -> int | None:
    """The number of generated reactions to draw: ``generations`` (1..alpha), or
    min(DEFAULT_GENERATIONS, alpha) when None; anything else raises ReactbenchError.
    ``alpha`` None (not known yet) checks only that ``generations`` is at least 1."""
    if generations is not None and (isinstance(generations, bool)
                                    or not isinstance(generations, int) or generations < 1):
        raise ReactbenchError(f"{param('generations', generations)}: draw at least 1 generated "
                              "reaction")
    if alpha is None:
        return generations
    if generations is None:
        return min(DEFAULT_GENERATIONS, alpha)
    if generations > alpha:
        raise ReactbenchError(f"{param('generations', generations)}: the predictions hold only "
                              f"{alpha} generated reaction(s) per speaker")
    return generations


def plot_speaker(
    speaker: np.ndarray,
    listener: np.ndarray,
    generated: np.ndarray,
    out: str | Path,
    *,
    title: str = "",
    fps: int = 25,
    generations: int | None = None,
    force: bool = False,
) -> Path:
    """Write a PNG for one row; an existing ``out`` is refused (ResultsError) unless ``force``.

    speaker, listener: (T, 25) speaker behaviour and real listener reaction;
    generated: (alpha, T, 25) generated reactions (the first ``generations`` are drawn,
    default min(3, alpha)). Arrays of other shapes or frame counts raise ReactbenchError.
    """
    speaker, listener, generated = map(np.asarray, (speaker, listener, generated))
    if (speaker.ndim != 2 or listener.shape != speaker.shape or generated.ndim != 3
            or generated.shape[1:] != speaker.shape or generated.shape[0] < 1):
        raise ReactbenchError(
            f"plot_speaker: expected speaker and listener (T, 25) and generated (alpha, T, 25) "
            f"with one T; got {speaker.shape}, {listener.shape} and {generated.shape}"
        )
    if not np.issubdtype(generated.dtype, np.number) or not np.isfinite(generated).all():
        raise ReactbenchError("plot_speaker: generated reactions must be finite numbers "
                              "(NaN/inf or non-numeric values found)")
    generations = check_generations(generations, generated.shape[0])
    out = check_png_target(out, force=force)
    plt = pyplot()

    t = np.arange(speaker.shape[0]) / fps
    gens = generated[:generations]
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
    try:
        with atomic_path(out, suffix=".png", overwrite=force, what=param("out"), error=ResultsError,
                         hint=FORCE_HINT) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
    return out


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (imported when a figure is drawn: about 0.5 s),
    or a ReactbenchError naming the optional package to install."""
    try:
        import matplotlib  # optional (extra plot) and heavy: only when a figure is drawn
    except ModuleNotFoundError as exc:
        raise ReactbenchError("plots are drawn with the optional package matplotlib: "
                              "pip install 'reactbench[plot]' (or pip install matplotlib)") from exc
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt  # after choosing the backend

    return plt


def plot_source(source: str | Path, *, speaker: int, out: str | Path | None = None,
                data: str | Path | None = None, split: str | None = None,
                frames: int | None = None, generations: int | None = None,
                force: bool = False) -> Path:
    """Plot row ``speaker`` from a result file (its predictions) or a predictions file.

    A result file fixes the split and the frame count (those it was scored on); for a
    predictions file ``split`` defaults to "test" and ``frames`` to DEFAULT_FRAMES (as in
    ``reactbench score``). The predictions must fit the split: N rows, speaker ids (when the
    file carries them), T frames, finite values. ``out`` (default ``<name>_speaker<K>.png``,
    ``<name>`` the model name and task, or the file's stem, shortened with a hash like result
    file names) is checked first and never replaced unless ``force``.
    """
    source = Path(source)
    if source.suffix == ".json":
        record = read_result(source)
        pred_path, root, split, frames, seed = _from_result(record, source, data, split, frames)
        name = name_part(f"{record['model']['name']}_{record['task']}")
        title_extra = f"{record['model']['name']} ({record['task']}, seed {seed})"
    else:
        pred_path, root, split = source, data, split or "test"
        frames = DEFAULT_FRAMES if frames is None else frames
        name = name_part(source.stem)
        title_extra = source.name
    check_generations(generations, None)  # 0 or negative: refused before any work
    if out is not None and not str(out).strip():
        raise ResultsError(f"{param('out')} is empty; give a PNG path, or omit {param('out')} "
                           f"for {name}_speaker{speaker}.png")
    out = check_png_target(out or f"{name}_speaker{speaker}.png", force=force)
    root = resolve_data(root)
    pyplot()  # the optional package is there, before any data is read
    split_data = load_split(root, split, frames=frames, audio=False, neighbours=False)
    preds = load_predictions(pred_path, speaker_ids=split_data.speaker_ids)
    check_predictions(preds, n=split_data.n, frames=split_data.frames,
                      speaker_ids=split_data.speaker_ids, check_range=False,
                      source=f"{pred_path} (split {split} of {root})")
    emo = np.asarray(preds.emotion, dtype=np.float32)
    if not 0 <= speaker < split_data.n:
        raise ReactbenchError(f"{param('speaker', speaker)}: the split has rows "
                              f"0..{split_data.n - 1}")
    return plot_speaker(
        split_data.speaker_emotion[speaker],
        split_data.listener_emotion[speaker],
        emo[speaker],
        out,
        title=f"{title_extra} -- {split} row {speaker}: {split_data.speaker_ids[speaker]}",
        fps=split_data.fps,
        generations=check_generations(generations, emo.shape[1]),
        force=force,
    )


def _from_result(record: dict, source: Path, data, split, frames):
    """(predictions path, dataset root, split, frames, seed) of a result file's predictions;
    ``split``/``frames``, when given, must agree with the record."""
    files = [p for p in record["predictions"] if p.get("path")]
    if not files or not Path(files[0]["path"]).exists():
        raise ReactbenchError(
            f"{source}: its predictions are not on this machine (cache cleared or never "
            "stored); run the same `reactbench run` again (it regenerates them) or plot a "
            f"predictions file with {param('data')}/{param('split')}"
        )
    recorded = record["dataset"].get("frames")
    if recorded is not None and (isinstance(recorded, bool) or not isinstance(recorded, int)
                                 or recorded < 1):
        raise ResultsError(f"{source}: field dataset.frames must be a positive integer; "
                           f"got {recorded!r}")
    for name, given, want in (("split", split, record["split"]), ("frames", frames, recorded)):
        if given is not None and want is not None and given != want:
            raise ReactbenchError(
                f"{param(name, given)}: {source} was scored with {param(name, want)} and its "
                f"predictions fit only that; leave {param(name)} out (or plot a predictions file)"
            )
    root = data or record["dataset"].get("root")
    return Path(files[0]["path"]), root, record["split"], recorded, files[0].get("seed")
