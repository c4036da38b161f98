"""Checkpoints: atomic writes, everything needed to rebuild and resume, dataset matching.

Two kinds, one format (``FORMAT``), both ``torch.save`` dicts with plain-Python metadata:

- training checkpoint ``<out>/checkpoint.pt`` (resumable): config, stream widths, stage/epoch
  state, the raw and EMA ``state_dict`` of the whole network (every trained parameter and every
  statistic: stream standardisation, 3DMM standardisation, latent min-max statistics), optimiser
  and LR-schedule state, the loss log, dataset identities (train and val), reactbench version;
- model file ``<out>/model.pt`` (for generation): the same without optimiser state, EMA weights
  only (optionally stored as float16, or -- the shipped checkpoint -- weight matrices as int8
  with per-channel scales, :func:`quantise_int8`, to keep it small).

Writes go to a temporary file in the same folder and are moved into place with ``os.replace``,
so an interrupted write never leaves a half-written checkpoint. Every checkpoint written holds
``digest``, a SHA-256 over its tensors (:func:`tensor_digest`), checked on every load; files
without one (older files, the shipped checkpoint) load, and their weights are matched to the
network by name and shape. Files are read as data only (``torch.load(weights_only=True)``):
a file that holds any Python object other than tensors and plain data is refused unread.
"""

from __future__ import annotations

import copy
import hashlib
import re
import stat
from pathlib import Path
from typing import Any

import torch

import reactbench
from reactbench.atomic import atomic_path
from reactbench.errors import ModelError

from .config import ReactDiffConfig
from .network import ReactDiffNet

FORMAT = "reactdiff-checkpoint/1"
SHIPPED = Path(__file__).parent / "checkpoints" / "small_synthetic.pt"
# the small model trained on the embedded synthetic MARS dataset (REACT2025/2026 protocols)
SHIPPED_MARS = Path(__file__).parent / "checkpoints" / "small_synthetic_mars.pt"


DIGEST = "digest"  # key of the SHA-256 over a checkpoint's tensors (tensor_digest)


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically; a checkpoint dict (``format`` FORMAT)
    gets its ``digest`` (re)computed."""
    path = Path(path)
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        obj = {**obj, DIGEST: tensor_digest(obj)}
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return path


def _tensors(obj: Any, name: str = ""):
    """(key path, tensor) of every tensor in nested dicts / lists, in a fixed order."""
    if isinstance(obj, torch.Tensor):
        yield name, obj
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            if not (name == "" and k in (DIGEST, "path")):
                yield from _tensors(obj[k], f"{name}/{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _tensors(v, f"{name}/{i}")


def tensor_digest(ckpt: dict) -> str:
    """SHA-256 (hex) over every tensor of a checkpoint dict: key path, dtype, shape and bytes."""
    h = hashlib.sha256()
    for name, t in _tensors(ckpt):
        t = t.detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


# torch.load(weights_only=True): its refusal, and the reason it gives for a file that would
# import or call something (as opposed to bytes that are not a pickle at all)
_NOT_DATA = "Weights only load failed"
_CODE = re.compile(r"WeightsUnpickler error:\s*(.*(?:global|reduce|build|Can only).*)", re.I)


def load_file(path: str | Path, map_location: Any = "cpu", what: str = "ReactDiff checkpoint",
              remedy: str = "") -> Any:
    """The object stored in ``path``, read as data only, with its digest (if any) checked.

    ModelError naming the file when it holds anything but tensors and plain Python data (it
    is never executed), cannot be read (``remedy`` is appended), or its tensors do not match
    its stored digest."""
    p = Path(path)
    try:
        obj = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same advice
        text = str(exc)
        if _NOT_DATA in text and _CODE.search(text):
            raise ModelError(
                f"refused to load {what} {p}: it holds Python objects other than tensors and "
                "plain data, which could run code when loaded. Checkpoints are read as data "
                "only; use a file written by `reactbench train`") from None
        if _NOT_DATA in text:  # torch's advice to load it unrestricted is not repeated
            text = "not a checkpoint file (" + text.split("WeightsUnpickler error:")[-1] \
                .strip().splitlines()[0] + ")"
        raise ModelError(f"cannot read {what} {p}: {text}{remedy}") from None
    if isinstance(obj, dict) and DIGEST in obj:
        if obj[DIGEST] != tensor_digest(obj):
            raise ModelError(
                f"{what} {p} is corrupted: its tensors do not match the digest stored with "
                "them (a damaged or altered copy); nothing was loaded from it. Restore the "
                "file from a good copy, or train it again")
    return obj


def export_model(ckpt: dict, path: str | Path, half: bool = False) -> Path:
    """Write the generation file (EMA weights, no optimiser) from a training checkpoint dict."""
    state = {k: v.detach().cpu() for k, v in ckpt["ema"].items()}  # loads without a GPU
    if half:
        state = {k: (v.half() if v.is_floating_point() and k.split(".")[0] not in _KEEP_FP32
                     else v) for k, v in state.items()}
    keep = ("format", "config", "widths", "dataset", "reactbench_version", "stages_done",
            "summary", "variant", "sampling")
    return atomic_save({**{k: ckpt[k] for k in keep if k in ckpt}, "model": state}, path)


# statistics kept in float32 even in a half-precision export
_KEEP_FP32 = {"stream_norm", "target_norm", "latent_norm"}
Q8, Q8_SCALE = "#int8", "#int8_scale"  # key suffixes of int8-stored weights and their scales


def quantise_int8(state: dict[str, torch.Tensor], min_size: int = 1024) -> dict:
    """Store every weight matrix / kernel (>= 2 dims, >= ``min_size`` values; statistics
    excluded) as int8 with one float32 scale per output channel (symmetric, round to nearest):
    ``w ~= q * scale``, at most half a quantisation step (scale / 2) off per value. Other
    tensors are kept as they are. Inverse: :func:`dequantise`."""
    out = {}
    for k, v in state.items():
        if (not v.is_floating_point() or v.dim() < 2 or v.numel() < min_size
                or k.split(".")[0] in _KEEP_FP32):
            out[k] = v
            continue
        flat = v.detach().float().reshape(v.shape[0], -1)
        scale = (flat.abs().amax(1) / 127.0).clamp_min(1e-12)
        out[k + Q8] = torch.round(flat / scale[:, None]).clamp(-127, 127).to(torch.int8) \
            .reshape(v.shape)
        out[k + Q8_SCALE] = scale
    return out


def dequantise(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The float32 state dict of a (possibly) int8-stored one (see :func:`quantise_int8`)."""
    out = {k: v for k, v in state.items() if not k.endswith((Q8, Q8_SCALE))}
    for k, q in state.items():
        if k.endswith(Q8):
            base = k[:-len(Q8)]
            scale = state[base + Q8_SCALE].float()
            out[base] = q.float() * scale.view(-1, *([1] * (q.dim() - 1)))
    return out


def read_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint dict (training checkpoint or model file) on CPU, with clear errors."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "model.pt"
    if not p.exists():
        raise ModelError(f"ReactDiff checkpoint {p} does not exist; train one with "
                         "`reactbench train --model reactdiff --preset small --out DIR` and pass "
                         "`--model-arg checkpoint=DIR/model.pt`")
    ckpt = load_file(p)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ModelError(f"{p} is not a ReactDiff checkpoint of format {FORMAT} (found "
                         f"{ckpt.get('format') if isinstance(ckpt, dict) else type(ckpt)})")
    ckpt["path"] = str(p)
    return ckpt


WEIGHT_KEYS = ("model", "ema", "optimizer", "scheduler")


def read_metadata(path: str | Path) -> dict | None:
    """A checkpoint's metadata (config, widths, dataset identities, variant, ...; no weights),
    or None when ``path`` is not a readable ReactDiff checkpoint (:func:`read_checkpoint` says
    why). Memory-maps the file where torch can, so the weights are not read (nor their digest
    checked: :func:`read_checkpoint` does that). Read once per process while the file is
    unchanged; each call returns its own copy."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "model.pt"
    try:
        st = p.stat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    # the same file, unchanged (path, inode, size, modification time): read once per process
    key = (str(p.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _METADATA:
        _METADATA[key] = _load_metadata(p)
    return copy.deepcopy(_METADATA[key])


_METADATA: dict[tuple, dict | None] = {}


def _load_metadata(p: Path) -> dict | None:
    try:
        try:
            ckpt = torch.load(p, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # not a zip-format file: mmap is not possible
            ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - unreadable: fit() reports it with read_checkpoint
        return None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        return None
    return {k: v for k, v in ckpt.items() if k not in WEIGHT_KEYS}


def trained_on(ckpt: dict) -> dict | None:
    """split -> dataset identity of the data a checkpoint was trained (train) and selected
    (val) on, as stored at training time; None when the checkpoint records none."""
    ident = ckpt.get("dataset")
    if not isinstance(ident, dict) or not ident:
        return None
    return {k: dict(v) for k, v in ident.items() if isinstance(v, dict)} or None


def build_network(ckpt: dict, weights: str = "model") -> tuple[ReactDiffConfig, ReactDiffNet]:
    """Rebuild the network of a checkpoint and load its weights (``model`` or ``ema``) in fp32."""
    cfg = ReactDiffConfig.from_dict(ckpt["config"])
    net = ReactDiffNet(cfg.model, ckpt["widths"])
    state = dequantise(ckpt[weights] if weights in ckpt else ckpt["model"])
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelError(f"checkpoint {ckpt.get('path', '')} does not match the network: missing "
                         f"{missing[:5]}, unexpected {unexpected[:5]}")
    net.eval()
    return cfg, net


def identity_key(identity: dict) -> dict:
    """The parts of a dataset identity that must match (not the local root path). ``layout``
    is ``"mars"`` for MARS-layout data (REACT2025/2026) and absent for the REACT2024 layout."""
    return {k: identity.get(k) for k in ("generator", "content_hash", "split", "layout")
            if identity.get(k) is not None}


def check_dataset(ckpt: dict, train_identity: dict, train_cmd: str) -> None:
    """Raise a ModelError that offers the retraining command if the checkpoint was trained on
    another dataset (or another generator version of the synthetic one, or another layout:
    REACT2024 vs MARS). For MARS data the command gets ``--protocol react2025``."""
    trained = identity_key(ckpt.get("dataset", {}).get("train", {}))
    current = identity_key(train_identity)
    diffs = [k for k in trained if k in current and trained[k] != current[k]]
    if trained and trained.get("layout") != current.get("layout") and "layout" not in diffs:
        diffs = ["layout", *diffs]
        trained.setdefault("layout", "react2024")
        current.setdefault("layout", "react2024")
    if current.get("layout") == "mars" and "--protocol" not in train_cmd:
        train_cmd += " --protocol react2025"
    if diffs:
        what = ", ".join(f"{k}: checkpoint {trained[k]!r} vs data {current[k]!r}" for k in diffs)
        shipped = ""
        if current.get("layout") == "mars" and SHIPPED_MARS.is_file() \
                and Path(ckpt.get("path", "")) != SHIPPED_MARS:
            shipped = (f"; on the embedded synthetic MARS dataset, the shipped "
                       f"`--model-arg checkpoint={SHIPPED_MARS}` fits")
        raise ModelError(
            f"ReactDiff checkpoint {ckpt.get('path', '')} was trained on other data ({what}). "
            f"Retrain it for this dataset with `{train_cmd}` and pass the model.pt of that "
            "--out folder as `--model-arg checkpoint=...` (or `--model-arg check_data=false` to "
            f"use it anyway){shipped}")


def metadata(cfg: ReactDiffConfig, widths: dict, identities: dict) -> dict:
    return {"format": FORMAT, "config": cfg.to_dict(), "widths": dict(widths),
            "dataset": identities, "reactbench_version": reactbench.__version__,
            "variant": cfg.variant}
