"""Image FID through pytorch-fid (the official FRRea), an optional extra: ``reactbench[fid]``.

The official FRRea is pytorch-fid's FID (InceptionV3 pool3 features, 2048-d by default) between
a folder of real frames and a folder of rendered frames (``official_react2024.md`` section 3.7).
pytorch-fid imports torchvision and needs the FID Inception weights file
(``pt_inception-2015-12-05-6726825d.pth``); neither ships with reactbench, so this module imports
nothing of them at load time and every missing piece gets an error that says what to do.
reactbench's own FRRea is ``FRRea-feat`` (:mod:`reactbench.metrics.frechet`), never this.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import tempfile
from pathlib import Path

from reactbench.errors import DataError, ReactbenchError, param
from reactbench.metrics.validate import is_cuda_device

FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FID_WEIGHTS_NAME
)
# the extensions pytorch-fid globs for (lower case, as it matches them)
IMAGE_EXTENSIONS = ("bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp")
FID_DIMS = (64, 192, 768, 2048)  # InceptionV3 blocks pytorch-fid can read features from

_import = importlib.import_module  # indirection so tests can simulate missing packages


def image_files(directory, label: str) -> list[Path]:
    """The image files pytorch-fid will read from ``directory`` (sorted); a DataError when the
    folder is missing, empty, holds fewer than 2 images or an unreadable image."""
    path = Path(directory)
    if not path.exists():
        raise DataError(f"{label}: folder {path} does not exist")
    if not path.is_dir():
        raise DataError(f"{label}: {path} is not a folder; expected a folder of image files")
    entries = [p for p in path.iterdir() if p.is_file()]
    images = sorted(p for p in entries if p.suffix[1:] in IMAGE_EXTENSIONS)
    if not images:
        others = sorted(p.name for p in entries)[:3]
        hint = f" (it holds {len(entries)} other files, e.g. {', '.join(others)})" if others else ""
        raise DataError(
            f"{label}: no image files in {path}{hint}; expected frames with a lower-case "
            f"extension among {', '.join(IMAGE_EXTENSIONS)} (pytorch-fid reads only those, "
            "not sub-folders)"
        )
    if len(images) < 2:
        raise DataError(
            f"{label}: only 1 image in {path}; FID needs at least 2 per folder (a covariance), "
            "and at least as many as the feature dimension for a full-rank one"
        )
    from PIL import Image  # comes with pytorch-fid (the fid extra), not a core dependency

    for p in images:
        try:
            with Image.open(p) as im:
                im.verify()
        except Exception as exc:
            raise DataError(f"{label}: {p} is not a readable image ({exc})") from exc
    return images


def import_pytorch_fid():
    """``pytorch_fid.fid_score``, or a ReactbenchError naming what to pip install."""
    try:
        return _import("pytorch_fid.fid_score")
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing == "pytorch_fid":
            raise ReactbenchError(
                "image FID needs the optional package pytorch-fid: pip install 'reactbench[fid]' "
                "(or pip install pytorch-fid torchvision)"
            ) from exc
        if missing == "torchvision":
            raise ReactbenchError(
                "pytorch-fid needs torchvision, which is not installed: pip install torchvision "
                "(a build matching your torch version)"
            ) from exc
        raise ReactbenchError(f"pytorch-fid could not be imported: module {exc.name!r} is "
                              "missing; pip install it") from exc
    except Exception as exc:  # e.g. a torchvision built for another torch version
        raise ReactbenchError(
            f"pytorch-fid could not be imported ({type(exc).__name__}: {exc}); the usual cause is "
            "a torchvision that does not match the installed torch: pip install a matching "
            "torchvision"
        ) from exc


# RuntimeError texts of torch.load / load_state_dict on a file that is not these weights
_WEIGHTS_ERROR = re.compile(r"state_dict|zip archive|PytorchStreamReader|storage|magic number",
                            re.IGNORECASE)


def default_weights_path() -> Path:
    """Where pytorch-fid looks for the Inception weights: torch hub's checkpoints folder."""
    import torch  # optional GPU dependency: imported only on this path

    return Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS_NAME


def resolve_weights(weights=None) -> Path:
    """The Inception weights file to use (``weights`` or torch hub's copy); a DataError with
    the file name, the download URL and the ``weights`` parameter when it is missing (no
    download is tried)."""
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise DataError(
                f"{param('weights')}: file {path} does not exist; expected the FID Inception "
                f"weights {FID_WEIGHTS_NAME} (download from {FID_WEIGHTS_URL})"
            )
        return path
    path = default_weights_path()
    if not path.is_file():
        raise DataError(
            f"FID Inception weights not found at {path}; reactbench does not download them. "
            f"Fetch {FID_WEIGHTS_URL} on a machine with internet access and either put it "
            f"there or pass {param('weights', 'PATH')}"
        )
    return path


# two parameters every FID Inception state dict holds (torchvision's Inception3 names,
# fc with pytorch-fid's 1008 classes)
WEIGHTS_KEYS = ("Conv2d_1a_3x3.conv.weight", "fc.weight")


def check_weights(path: Path) -> None:
    """A DataError naming ``path`` unless it loads (``torch.load``, tensors only) as a state
    dict holding the FID Inception parameters ``WEIGHTS_KEYS``; shapes are checked later, by
    pytorch-fid's ``load_state_dict``."""
    import torch  # optional GPU dependency: imported only on this path

    expected = f"expected the file {FID_WEIGHTS_NAME} ({FID_WEIGHTS_URL})"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip, EOF and weights_only refusals alike
        raise DataError(f"Inception weights {path} cannot be loaded ({type(exc).__name__}: "
                        f"{str(exc)[:300]}); {expected}") from exc
    if not isinstance(state, dict):
        raise DataError(f"Inception weights {path} hold a {type(state).__name__}, not a "
                        f"state dict; {expected}")
    missing = [k for k in WEIGHTS_KEYS if k not in state]
    if missing:
        raise DataError(f"Inception weights {path} are a state dict without {missing} "
                        f"({len(state)} entries, e.g. {sorted(map(str, state))[:3]}); {expected}")


@contextlib.contextmanager
def _hub_with_weights(path: Path):
    """A temporary torch hub folder whose checkpoints/ holds ``path`` under pytorch-fid's file
    name, so pytorch-fid loads it instead of downloading."""
    import torch  # optional GPU dependency: imported only on this path

    old = torch.hub.get_dir()
    if path == default_weights_path():
        yield
        return
    with tempfile.TemporaryDirectory(prefix="reactbench-fid-hub-") as tmp:
        ckpt = Path(tmp) / "checkpoints"
        ckpt.mkdir()
        os.symlink(path.resolve(), ckpt / FID_WEIGHTS_NAME)
        torch.hub.set_dir(tmp)
        try:
            yield
        finally:
            torch.hub.set_dir(old)


def image_fid(real_dir, fake_dir, *, batch_size: int = 50, dims: int = 2048,
              device: str | None = None, weights=None, num_workers: int = 0) -> float:
    """pytorch-fid's FID between the images of ``real_dir`` and ``fake_dir`` (float).

    batch_size: images per Inception batch; dims: feature dimension, one of 64, 192, 768, 2048
    (2048 = pool3, the official setting); device: "cuda", "cpu" or None (cuda when available);
    weights: path of ``pt_inception-2015-12-05-6726825d.pth`` (default: torch hub's cache).
    """
    if dims not in FID_DIMS:
        raise ReactbenchError(f"{param('dims')}: expected one of {FID_DIMS}, got {dims}")
    if batch_size < 1:
        raise ReactbenchError(f"{param('batch_size')}: expected a positive integer, got "
                              f"{batch_size}")
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ReactbenchError(f"{param('num_workers')}: expected an integer >= 0 (0: load images "
                              f"in the main process), got {num_workers!r}")
    if device is not None and str(device) != "cpu" and not is_cuda_device(str(device)):
        raise ReactbenchError(f"{param('device')}: expected cpu, cuda or cuda:N, got {device!r}")
    n_real = len(image_files(real_dir, "REAL_DIR"))
    n_fake = len(image_files(fake_dir, "FAKE_DIR"))
    fid_score = import_pytorch_fid()
    path = resolve_weights(weights)
    check_weights(path)
    import torch  # optional GPU dependency: imported only on this path

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ReactbenchError(f"{param('device', device)} requested but "
                              "torch.cuda.is_available() is False; use "
                              f"{param('device', 'cpu')}")
    batch_size = min(batch_size, n_real, n_fake)
    with _hub_with_weights(path):
        try:
            value = fid_score.calculate_fid_given_paths([str(real_dir), str(fake_dir)],
                                                        batch_size, device, dims, num_workers)
        except RuntimeError as exc:
            # weights of another Inception (right names, wrong shapes) fail in load_state_dict
            if not _WEIGHTS_ERROR.search(str(exc)):
                raise
            raise DataError(
                f"pytorch-fid failed with the Inception weights {path} ({type(exc).__name__}: "
                f"{str(exc)[:300]}); expected the file {FID_WEIGHTS_NAME} ({FID_WEIGHTS_URL})"
            ) from exc
    return float(value)
