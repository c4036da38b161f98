"""Argument helpers shared by the commands, and the one mapping from library parameter names to
the command-line flags that set them (library errors name parameters; the CLI shows flags)."""

from __future__ import annotations

import argparse
import datetime as _dt
from pathlib import Path

from reactbench.constants import DEFAULT_FRAMES
from reactbench.errors import ReactbenchError
from reactbench.protocols import OFFICIAL, get_protocol, protocol_names

# library parameter -> flag, where the flag is not ``--`` + the name with ``-`` for ``_``
FLAGS = {
    "alpha": "--samples",
    "seeds": "--seed",
    "n_jobs": "--jobs",
    "check_range": "--allow-out-of-range",
    "source": "--predictions",
    "specs": "--model",
    "write": "--no-write",
    "model_args": "--model-arg",
    "fmt": "--format",
    "gt_align_checkpoint": "--gt-align-checkpoint",
}
SWITCHES = ("--allow-out-of-range", "--skip-existing", "--realism-3dmm", "--no-cache",
            "--no-write", "--force")


def flag_name(name: str, value: str | None = None) -> str:
    """How the command line names library parameter ``name`` (given ``value``): its flag,
    followed by the value unless the flag is a switch (``window``, 120 -> ``--window 120``)."""
    flag = FLAGS.get(name, "--" + name.replace("_", "-"))
    return flag if value is None or flag in SWITCHES else f"{flag} {value}"


def command_line(args) -> list[str] | None:
    """The command line that ``args`` were parsed from, as result files record it:
    ``["reactbench", <arguments>...]`` (None when ``args`` were not parsed by the CLI)."""
    argv = getattr(args, "argv", None)
    return None if argv is None else ["reactbench", *map(str, argv)]


def error_message(exc: ReactbenchError) -> str:
    """A library error as the command line shows it: parameters named by their flags."""
    return exc.render(flag_name)


def default_out_dir(base: str = "runs") -> Path:
    """A fresh ``runs/<UTC timestamp>[-k]`` directory, created here (an exclusive ``mkdir``),
    so two commands started in the same second never share one."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    path, i = Path(base) / stamp, 1
    while True:
        try:
            if not path.parent.is_dir():
                path.parent.mkdir(parents=True)
                CLAIMED.append(path.parent)
            path.mkdir()
            CLAIMED.append(path)
            return path
        except FileExistsError:
            path = Path(base) / f"{stamp}-{i}"
            i += 1
        except OSError as exc:
            raise ReactbenchError(f"cannot create the results folder {path} "
                                  f"({exc.strerror or exc}); pass --out with a writable "
                                  "folder") from None


# default results folders created by this process (release_empty_out_dirs removes them while
# empty, so a command that failed before writing leaves no folder behind)
CLAIMED: list[Path] = []


def release_empty_out_dirs() -> None:
    """Remove the default results folders this process created that are still empty."""
    while CLAIMED:
        try:
            CLAIMED.pop().rmdir()  # only succeeds while it holds nothing
        except OSError:
            pass


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: X)`` to a flag's help unless the help already states its default
    or there is none to state (None, False)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def parse_seeds(text: str, flag: str = "--seed") -> tuple[int, ...]:
    """``--seed 0,1,2`` -> (0, 1, 2); an empty item (``0,`` or ``0,,1``) is refused."""
    items = [s.strip() for s in str(text).split(",")]
    try:
        seeds = tuple(int(s) for s in items)
    except ValueError:
        raise ReactbenchError(f"{flag} expects integers like 0 or 0,1,2 (no empty items); got "
                              f"{text!r}") from None
    return seeds


def parse_metrics(text: str | None) -> list[str] | None:
    """``--metrics FRCorr,FRDist`` -> names; None (flag absent) -> every metric. Empty text or
    empty items are refused by ``check_common`` ("names no metric") or here."""
    if text is None:
        return None
    items = [m.strip() for m in text.split(",")]
    if any(not m for m in items) and any(items):
        raise ReactbenchError(f"--metrics {text!r} has an empty item; expected names like "
                              "FRCorr,FRDist")
    return [m for m in items if m]


def out_dir(value: str | None, flag: str = "--out") -> Path:
    """The results folder: ``value``, or a new ``runs/<timestamp>`` when the flag is absent;
    an empty or blank value is refused (it would silently mean the default)."""
    if value is None:
        return default_out_dir()
    if not str(value).strip():
        raise ReactbenchError(f"{flag} {value!r}: expected a folder path (leave the flag out "
                              "for a new runs/<timestamp>)")
    return Path(value)


# reactbench.data.targets.GT_ALIGN, spelled out here: importing the data layer (numpy) would
# slow every command's start-up; the options check refuses anything else
GT_ALIGN_CHOICES = ("linear", "emotionvae")
# command-line shorthand: ``--protocol react2024`` is the official REACT2024 protocol
PROTOCOL_SHORTHANDS = {"react2024": OFFICIAL.name}


def parse_protocols(text: str, flag: str = "--protocol") -> list[str]:
    """``--protocol react2024,react2025`` -> canonical protocol names (``react2024`` =
    ``official``; aliases accepted), in the order given, without repeats."""
    out: list[str] = []
    for item in str(text).split(","):
        name = PROTOCOL_SHORTHANDS.get(item.strip(), item.strip())
        try:
            canonical = get_protocol(name).name
        except ValueError:
            raise ReactbenchError(
                f"{flag} {text!r}: unknown protocol {item.strip()!r}; expected names from "
                f"{', '.join(protocol_names())} (or react2024 for {OFFICIAL.name}), separated "
                "by commas") from None
        if canonical not in out:
            out.append(canonical)
    return out


def add_gt_align_args(p) -> None:
    """Flags of the target alignment (REACT2025/2026 protocols)."""
    p.add_argument("--gt-align", choices=GT_ALIGN_CHOICES, default="linear",
                   help="REACT2025/2026: how targets of another length are aligned to a sample "
                   "(linear: resampled, AUs re-thresholded, a labelled deviation; emotionvae: "
                   "the challenge's post-processor, needs --gt-align-checkpoint)")
    p.add_argument("--gt-align-checkpoint", default=None, metavar="PATH",
                   help="with --gt-align emotionvae: an EmotionVAE checkpoint (its SHA-256 is "
                   "recorded)")


def add_scoring_args(p, *, several_protocols: bool = False) -> None:
    """Flags shared by run and score (``several_protocols``: ``--protocol`` takes a comma
    list, parsed by :func:`parse_protocols`)."""
    p.add_argument("--split", default="test", help="evaluated split (default: test)")
    p.add_argument("--data", default=None,
                   help="dataset root (default: the embedded synthetic dataset of the "
                   "protocol; a MARS-layout root serves the REACT2025/2026 protocols)")
    p.add_argument("--frames", type=int, default=DEFAULT_FRAMES,
                   help=f"frames per clip to load (default: {DEFAULT_FRAMES}; fewer for a quick "
                   "try; saved predictions are scored with the value they were made with; "
                   "REACT2024 protocols only: REACT2025/2026 clips keep their lengths)")
    if several_protocols:
        p.add_argument("--protocol", default=OFFICIAL.name, metavar="P[,P...]",
                       help=f"metric protocol(s): {', '.join(protocol_names())}, or react2024 "
                       f"for {OFFICIAL.name}; several (react2024,react2025) score each model "
                       f"under each, one result file per model and protocol (default: "
                       f"{OFFICIAL.name})")
    else:
        p.add_argument("--protocol", choices=protocol_names(), default=OFFICIAL.name,
                       help=f"metric protocol (default: {OFFICIAL.name})")
    p.add_argument("--bootstrap", type=int, default=0, metavar="B",
                   help="bootstrap resamples for 95%% CIs over speakers (default 0: none)")
    p.add_argument("--metrics", default=None, metavar="M[,M...]",
                   help="compute only these metrics (default: all seven)")
    p.add_argument("--device", default="cpu",
                   help="cpu or cuda (models and metric engines; default cpu)")
    p.add_argument("--jobs", type=int, default=-1,
                   help="CPU workers for the metrics (default -1: all)")
    p.add_argument("--out", default=None,
                   help="results directory (default: a new runs/<timestamp>/)")
    p.add_argument("--realism-3dmm", action="store_true",
                   help="feed predicted and real 3DMM to FRRea-feat (when a model returns 3DMM)")
    p.add_argument("--allow-out-of-range", action="store_true",
                   help="accept reactions outside the attribute ranges (AU/FE [0,1], VA [-1,1])")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
