"""The synthetic MARS-layout dataset: lengths, timing, determinism, loader round trip, CLI."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import soundfile as sf

from reactbench.cli import main
from reactbench.data import mars_layout as ml
from reactbench.data import mars_synthetic as ms
from reactbench.data.mars import META_FILE, load_clips
from reactbench.data.mars_check import dataset_report
from reactbench.data.resolve import default_mars_dataset, resolve_mars_data
from reactbench.data.targets import build_targets
from reactbench.errors import DataError

SMALL = dict(sessions=2, dyads={"train": 1, "test": 3}, min_frames=60, max_frames=360)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return ms.generate(tmp_path_factory.mktemp("mars") / "ds", seed=4, **SMALL)


def _digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_lengths_timing_and_round_trip(small):
    d = load_clips(small, "test")
    folders = [f"session{k}" for k in range(2)]  # the generator's session folders
    assert d.n == 6 and sorted(set(d.sessions)) == folders
    assert d.lengths.min() == 60 and d.lengths.max() == 360  # 6x
    assert d.lengths.max() / d.lengths.min() >= 5
    for k, cid in enumerate(d.sample_ids):
        T = int(d.lengths[k])
        info = sf.info(str(ml.clip_path(small, "test", ml.AUDIO_DIR, cid)))
        assert info.samplerate == 16000 and info.frames == round(T * 16000 / 30)
        assert d.speaker_audio["wav2vec"][k].shape == (T, 768)
        assert d.speaker_3dmm[k].shape == (T, 58)
        e = d.speaker_emotion[k]
        assert set(np.unique(e[:, :15])) <= {0.0, 1.0}
        np.testing.assert_allclose(e[:, 17:].sum(axis=1), 1.0, atol=1e-5)
        assert np.abs(e[:, 15:17]).max() <= 1.0
    assert np.load(ml.clip_path(small, "test", ml.COEFFICIENTS_DIR, d.sample_ids[0])).shape[1] == 1
    meta = json.loads((small / META_FILE).read_text())
    assert meta["version"] == ms.GENERATOR_VERSION and meta["seed"] == 4 and meta["fps"] == 30
    assert d.identity["generator"] == {"version": ms.GENERATOR_VERSION, "seed": 4}
    t = build_targets(d)
    assert [x.shape[:2] for x in t.targets] == [(10, n) for n in d.lengths]
    rep = dataset_report(small)
    assert rep.errors == []
    # train has one dyad per session: its sessions have one listener each
    assert len(rep.warnings) == 2
    assert all("/train/" in f and "one listener" in m for f, m in rep.warnings)


def test_deterministic_per_seed(small, tmp_path):
    again = ms.generate(tmp_path / "again", seed=4, **SMALL)
    assert _digests(again) == _digests(small)
    other = ms.generate(tmp_path / "other", seed=5, **SMALL)
    a, b = _digests(small), _digests(other)
    assert a.keys() == b.keys() and a != b


def test_clip_lengths_spread():
    rng = np.random.default_rng(0)
    lengths = ms.clip_lengths(24, 90, 600, rng)
    assert lengths.min() == 90 and lengths.max() == 600 and len(set(lengths)) == 24
    assert list(ms.clip_lengths(1, 90, 600, rng)) == [90]


@pytest.mark.parametrize("kwargs, message", [
    (dict(min_frames=30, max_frames=300), "58 <= MIN <= MAX"),
    (dict(min_frames=300, max_frames=200), "MIN <= MAX"),
    (dict(sessions=0), "sessions=0"),
    (dict(dyads={"dev": 2}), "unknown split"),
    (dict(dyads={"test": 0}), "at least one split"),
    (dict(seed=-1), "seed=-1"),
])
def test_bad_arguments_write_nothing(tmp_path, kwargs, message):
    with pytest.raises(DataError, match=message):
        ms.generate(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


def test_refuses_a_non_empty_folder(small):
    with pytest.raises(DataError, match="not empty"):
        ms.generate(small, seed=4, **SMALL)


def test_parsers():
    assert ms.parse_lengths("90:600") == (90, 600)
    assert ms.parse_dyads("train=4, test=2") == {"train": 4, "test": 2}
    for bad in ("90", "a:b"):
        with pytest.raises(DataError, match="^lengths="):
            ms.parse_lengths(bad)
    for bad in ("test", "test=1,test=2", "test=x", ""):
        with pytest.raises(DataError, match="^dyads"):
            ms.parse_dyads(bad)


def test_cli_synth_check_summary(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["data", "synth", "--layout", "mars", "--out", str(out), "--sessions", "2",
                 "--dyads", "test=2", "--lengths", "60:300", "--seed", "1"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [META_FILE, "test"]
    assert main(["data", "check", str(out)]) == 0
    text = capsys.readouterr().out
    assert "no problems" in text and "4 listeners" not in text and "60-300 frames" in text
    assert main(["data", "summary", "--data", str(out)]) == 0
    text = capsys.readouterr().out
    assert "MARS layout" in text and "N = 4 samples" in text and "60-300 frames" in text
    # damage two files: check names both and exits 1
    first, second = (f"session{k}" for k in range(2))  # the generator's session folders
    np.save(ml.clip_path(out, "test", ml.ATTRIBUTES_DIR, f"speaker/{first}/"
                         "Synthetic-test-00000"), np.zeros((60, 24)))
    ml.clip_path(out, "test", ml.AUDIO_DIR, f"listener/{second}/Synthetic-test-01000").unlink()
    assert main(["data", "check", str(out)]) == 1
    text = capsys.readouterr().out
    assert "expected facial attributes of shape (T, 25)" in text
    assert "Synthetic-test-01000.wav: file not found" in text
    assert "2 problem(s)" in text


def test_cli_flags_belong_to_their_layout(tmp_path, capsys):
    assert main(["data", "synth", "--layout", "mars", "--out", str(tmp_path / "a"),
                 "--pairs", "test=2"]) == 2
    assert "--pairs: only with --layout react2024" in capsys.readouterr().err
    assert main(["data", "synth", "--out", str(tmp_path / "b"), "--dyads", "test=2"]) == 2
    assert "--dyads: only with --layout mars" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_default_mars_dataset_generated_once(monkeypatch, tmp_path):
    monkeypatch.setenv("REACTBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(ms, "DEFAULT_DYADS", {"test": 1})
    root = resolve_mars_data(None, progress=False)
    assert root == default_mars_dataset()
    assert root.parent == tmp_path / "cache" / "synthetic-mars"
    assert root.name == f"{ms.GENERATOR_VERSION}-seed0"
    stamp = (root / META_FILE).stat().st_mtime_ns
    assert default_mars_dataset() == root and (root / META_FILE).stat().st_mtime_ns == stamp
    assert not [p for p in root.parent.iterdir() if p.name.startswith(".")]
    d = load_clips(root, "test")
    assert d.n == ms.DEFAULT_SESSIONS and d.lengths.max() / d.lengths.min() >= 5
    assert resolve_mars_data(root) == root.resolve()
    with pytest.raises(DataError, match="MARS layout"):
        resolve_mars_data(tmp_path)
    with pytest.raises(DataError, match="not found"):
        resolve_mars_data(tmp_path / "missing")
