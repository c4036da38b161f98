"""``reactbench fid`` / reactbench.metrics.fid: every error path, on CPU, without pytorch-fid.

A fake ``pytorch_fid.fid_score`` module stands in for the real one where a test needs the
happy path; nothing here imports torchvision.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
import torch

from reactbench.cli import main as cli_main
from reactbench.errors import DataError, ReactbenchError
from reactbench.metrics import fid


def _images(folder: Path, n: int, ext: str = "png") -> Path:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(
            folder / f"{i}.{ext}")
    return folder


@pytest.fixture
def dirs(tmp_path):
    return _images(tmp_path / "real", 3), _images(tmp_path / "fake", 4)


@pytest.fixture
def fake_fid(monkeypatch):
    """A stand-in pytorch_fid.fid_score that records its call and the weights it would load."""
    calls = {}

    def calculate_fid_given_paths(paths, batch_size, device, dims, num_workers=1):
        ckpt = Path(torch.hub.get_dir()) / "checkpoints" / fid.FID_WEIGHTS_NAME
        calls.update(paths=paths, batch_size=batch_size, device=device, dims=dims,
                     weights=ckpt.read_bytes())
        return 12.5

    module = types.SimpleNamespace(calculate_fid_given_paths=calculate_fid_given_paths)
    monkeypatch.setattr(fid, "_import", lambda name: module)
    return calls


@pytest.fixture
def empty_hub(tmp_path):
    old = torch.hub.get_dir()
    hub = tmp_path / "hub"
    torch.hub.set_dir(str(hub))
    yield hub
    torch.hub.set_dir(old)


def _weights(path: Path) -> Path:
    """A tiny stand-in for the FID Inception weights: a state dict with the checked names."""
    torch.save({k: torch.zeros(1) for k in fid.WEIGHTS_KEYS}, path)
    return path


def _missing(name):
    def imp(_):
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)
    return imp


def test_missing_folder(tmp_path, dirs):
    with pytest.raises(DataError, match="REAL_DIR: folder .* does not exist"):
        fid.image_fid(tmp_path / "nope", dirs[1])


def test_not_a_folder(tmp_path, dirs):
    f = tmp_path / "file.png"
    f.write_bytes(b"x")
    with pytest.raises(DataError, match="FAKE_DIR: .* is not a folder"):
        fid.image_fid(dirs[0], f)


def test_empty_folder(tmp_path, dirs):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="FAKE_DIR: no image files"):
        fid.image_fid(dirs[0], tmp_path / "empty")


def test_non_image_folder(tmp_path, dirs):
    d = tmp_path / "txt"
    d.mkdir()
    (d / "a.txt").write_text("hi")
    _images(tmp_path / "upper", 2, ext="PNG")
    with pytest.raises(DataError, match=r"no image files .*other files, e.g. a.txt"):
        fid.image_fid(d, dirs[1])
    with pytest.raises(DataError, match="lower-case"):
        fid.image_fid(tmp_path / "upper", dirs[1])


def test_single_image(tmp_path, dirs):
    with pytest.raises(DataError, match="only 1 image"):
        fid.image_fid(dirs[0], _images(tmp_path / "one", 1))


def test_corrupt_image(tmp_path, dirs):
    (dirs[1] / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"FAKE_DIR: .*bad.png is not a readable image"):
        fid.image_fid(dirs[0], dirs[1])


def test_bad_dims_and_batch(dirs):
    with pytest.raises(ReactbenchError, match="dims: expected one of"):
        fid.image_fid(*dirs, dims=100)
    with pytest.raises(ReactbenchError, match="batch_size: expected a positive integer"):
        fid.image_fid(*dirs, batch_size=0)


def test_pytorch_fid_missing(monkeypatch, dirs):
    monkeypatch.setattr(fid, "_import", _missing("pytorch_fid"))
    with pytest.raises(ReactbenchError, match=r"pip install 'reactbench\[fid\]'"):
        fid.image_fid(*dirs)


def test_torchvision_missing(monkeypatch, dirs):
    monkeypatch.setattr(fid, "_import", _missing("torchvision"))
    with pytest.raises(ReactbenchError, match="needs torchvision.*pip install torchvision"):
        fid.image_fid(*dirs)


def test_torchvision_broken(monkeypatch, dirs):
    def imp(_):
        raise RuntimeError("operator torchvision::nms does not exist")
    monkeypatch.setattr(fid, "_import", imp)
    with pytest.raises(ReactbenchError, match="matching torchvision"):
        fid.image_fid(*dirs)


def test_weights_missing_default(fake_fid, empty_hub, dirs):
    with pytest.raises(DataError, match=r"weights not found at .*hub.*weights=PATH"):
        fid.image_fid(*dirs)


def test_weights_flag_missing(fake_fid, tmp_path, dirs):
    with pytest.raises(DataError, match=r"weights: file .* does not exist.*pt_inception"):
        fid.image_fid(*dirs, weights=tmp_path / "nope.pth")


def test_cuda_requested_without_cuda(monkeypatch, fake_fid, tmp_path, dirs):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    w = _weights(tmp_path / "w.pth")
    with pytest.raises(ReactbenchError, match="device=cuda requested"):
        fid.image_fid(*dirs, weights=w, device="cuda")


def test_happy_path_uses_given_weights(fake_fid, empty_hub, tmp_path, dirs):
    w = _weights(tmp_path / "w.pth")
    value = fid.image_fid(*dirs, weights=w, device="cpu", batch_size=50)
    assert value == 12.5
    assert fake_fid["weights"] == w.read_bytes()
    assert fake_fid["batch_size"] == 3 and fake_fid["dims"] == 2048
    assert torch.hub.get_dir() == str(empty_hub)  # restored


def test_cli_prints_value(fake_fid, tmp_path, dirs, capsys):
    w = _weights(tmp_path / "w.pth")
    rc = cli_main(["fid", str(dirs[0]), str(dirs[1]), "--weights", str(w), "--device", "cpu",
                   "--dims", "64"])
    assert rc == 0
    assert "FID (64-d Inception features): 12.5000" in capsys.readouterr().out


def test_cli_clean_error(monkeypatch, dirs, capsys):
    monkeypatch.setattr(fid, "_import", _missing("pytorch_fid"))
    rc = cli_main(["fid", str(dirs[0]), str(dirs[1])])
    assert rc == 2
    err = capsys.readouterr().err
    assert "reactbench fid: error:" in err and "pytorch-fid" in err


def test_no_torchvision_import_on_default_path():
    import subprocess
    import sys

    code = ("import sys, reactbench.cli, reactbench.metrics.fid, reactbench.commands.fid; "
            "reactbench.cli.build_parser(); "
            "assert 'torchvision' not in sys.modules and 'pytorch_fid' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("kw", "needle"), [
    ({"num_workers": -1}, "num_workers: expected an integer >= 0"),
    ({"device": "bogus"}, "device: expected cpu, cuda or cuda:N, got 'bogus'"),
])
def test_bad_workers_and_device_fail_before_import(monkeypatch, dirs, kw, needle):
    monkeypatch.setattr(fid, "_import", lambda name: pytest.fail("imported"))
    with pytest.raises(ReactbenchError, match=needle):
        fid.image_fid(*dirs, **kw)


def _raising(exc):
    def calculate_fid_given_paths(*a, **k):
        raise exc

    return types.SimpleNamespace(calculate_fid_given_paths=calculate_fid_given_paths)


@pytest.mark.parametrize(("content", "needle"), [
    (b"not inception", r"other\.pth cannot be loaded \(UnpicklingError"),
    ([1, 2], r"other\.pth hold a list, not a state dict"),
    ({"conv.weight": 0}, r"other\.pth are a state dict without \['Conv2d_1a_3x3"),
])
def test_weights_of_another_kind_fail_before_pytorch_fid(monkeypatch, tmp_path, dirs, content,
                                                        needle):
    monkeypatch.setattr(fid, "_import", lambda name: _raising(AssertionError("ran")))
    w = tmp_path / "other.pth"
    if isinstance(content, bytes):
        w.write_bytes(content)
    else:
        torch.save(content, w)
    with pytest.raises(DataError, match=needle + r".*pt_inception"):
        fid.image_fid(*dirs, weights=w, device="cpu")


def test_weights_with_wrong_shapes_name_the_file(monkeypatch, tmp_path, dirs):
    exc = RuntimeError("Error(s) in loading state_dict for FIDInceptionA: size mismatch")
    monkeypatch.setattr(fid, "_import", lambda name: _raising(exc))
    w = _weights(tmp_path / "other.pth")
    with pytest.raises(DataError, match=r"failed with the Inception weights .*other\.pth"):
        fid.image_fid(*dirs, weights=w, device="cpu")


def test_key_errors_inside_pytorch_fid_are_not_blamed_on_the_weights(monkeypatch, tmp_path,
                                                                      dirs):
    monkeypatch.setattr(fid, "_import", lambda name: _raising(KeyError("RGB")))
    with pytest.raises(KeyError, match="RGB"):
        fid.image_fid(*dirs, weights=_weights(tmp_path / "w.pth"), device="cpu")


def test_other_runtime_errors_are_not_blamed_on_the_weights(monkeypatch, tmp_path, dirs):
    def calculate_fid_given_paths(*a, **k):
        raise RuntimeError("CUDA out of memory")

    module = types.SimpleNamespace(calculate_fid_given_paths=calculate_fid_given_paths)
    monkeypatch.setattr(fid, "_import", lambda name: module)
    w = _weights(tmp_path / "w.pth")
    with pytest.raises(RuntimeError, match="CUDA out of memory"):
        fid.image_fid(*dirs, weights=w, device="cpu")
