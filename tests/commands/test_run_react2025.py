"""`reactbench run/score/leaderboard --protocol react2025` end to end on a tiny synthetic MARS
dataset, one model under several protocols, and bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from reactbench.clip_predictions import RaggedPredictions, load_ragged, save_ragged
from reactbench.data import mars_layout as ml
from reactbench.data.mars import load_clips
from reactbench.data.targets import ids_sha256
from reactbench.results import read_result
from tests.data import _mars
from tests.helpers.failing_plugins import where, write_plugin


@pytest.fixture(scope="module")
def mars(tmp_path_factory):
    """A tiny MARS-layout synthetic dataset (2 sessions, 2 test dyads each, 58..800 frames)."""
    from reactbench.data import mars_synthetic

    out = tmp_path_factory.mktemp("mars-cli") / "mars"
    return mars_synthetic.generate(out, sessions=2, dyads={"train": 2, "val": 1, "test": 2},
                                   min_frames=58, max_frames=800, seed=0)


@pytest.fixture(scope="module")
def mars_small(tmp_path_factory):
    """The fewest test clips whose targets need aligning, for the EmotionVAE alignment, which
    runs a 1000-frame network per target of another length: 1 session with 2 test dyads, of 58
    and 90 frames. Each of its 4 samples has 9 targets besides the paired one, all the other
    dyad's clip (36 alignments per command), longer than the sample for one dyad and shorter
    for the other; clips under 1000 frames are aligned in one segment."""
    from reactbench.data import mars_synthetic

    out = tmp_path_factory.mktemp("mars-cli-small") / "mars"
    return mars_synthetic.generate(out, sessions=1, dyads={"train": 1, "val": 1, "test": 2},
                                   min_frames=58, max_frames=90, seed=0)


def _run(cli, *args):
    code, out, err = cli("run", "--no-progress", *map(str, args))
    assert code == 0, err
    return out


def test_synth_run_score_leaderboard(cli, mars, tmp_path):
    out = _run(cli, "--protocol", "react2025", "--data", mars, "--model", "baselines,b_mime",
               "--out", tmp_path / "r")
    names = ["b26_random", "b26_mime", "b26_meanfr", "gt_identical", "b_mime"]
    for name in names:
        path = tmp_path / "r" / f"{name}_offline_test_react2025_a10_s0.json"
        rec = read_result(path)
        assert rec["protocol"] == "react2025" and rec["protocol_version"] == "1"
        assert set(rec["metrics"]) == {"FRCorr", "FRDist", "FRSyn", "FRDiv", "FRVar"}
        t = rec["targets"]
        assert (t["rule"], t["seed"], t["k"], t["gt_align"]) == ("session-pool", 1234, 10,
                                                                 "linear")
        doc = json.loads((tmp_path / "r" / t["file"]).read_text())
        ids = [s["targets"] for s in doc["samples"]]
        assert ids_sha256(ids) == t["ids_sha256"] == doc["ids_sha256"]
        assert all(s["targets"][0] == ml.paired_id(s["sample"]) for s in doc["samples"])
    gt = read_result(tmp_path / "r" / "gt_identical_offline_test_react2025_a10_s0.json")
    assert gt["metrics"]["FRCorr"]["value"] == 10.0 and "FRCorr/real" in gt["extra"]
    assert gt["model"]["reference"]
    assert "protocol react2025" in out
    # re-score the saved predictions of b_mime: the same numbers
    mime = read_result(tmp_path / "r" / "b_mime_offline_test_react2025_a10_s0.json")
    saved = mime["predictions"][0]["path"]
    code, _, err = cli("score", "--protocol", "react2025", "--data", mars, "--predictions",
                       saved, "--name", "again", "--out", tmp_path / "s", "--no-progress")
    assert code == 0, err
    again = read_result(tmp_path / "s" / "again_offline_test_react2025_a10.json")
    assert again["targets"]["ids_sha256"] == mime["targets"]["ids_sha256"]
    for m, e in mime["metrics"].items():
        assert again["metrics"][m]["value"] == pytest.approx(e["value"], rel=1e-12)
    # the printed re-score command names each result's target ids: run as printed
    flags = out.split("re-score one with: reactbench score --predictions FILE ", 1)[1]
    flags = flags.partition("\n")[0]
    assert flags.endswith(" --targets TARGETS --name NAME):") and "--protocol react2025" in flags
    row = next(line.split() for line in out.splitlines() if line.startswith("  b_mime "))
    assert row[3] == saved and row[4:] == ["--targets", str(tmp_path / "r" / mime["targets"]
                                                              ["file"])]
    args = flags[:-len(" --targets TARGETS --name NAME):")].split()
    code, _, err = cli("score", "--predictions", saved, *args, *row[4:], "--name", "again2",
                       "--out", tmp_path / "s2", "--no-progress")
    assert code == 0, err
    again = read_result(tmp_path / "s2" / "again2_offline_test_react2025_a10.json")
    assert {m: e["value"] for m, e in again["metrics"].items()} == \
        {m: e["value"] for m, e in mime["metrics"].items()}
    code, table, err = cli("leaderboard", tmp_path / "r", "--format", "csv")
    assert code == 0, err
    lines = table.splitlines()
    assert lines[0].startswith("method,model,task,protocol,")
    assert all(",react2025," in line for line in lines[1:]) and len(lines) == 1 + len(names)
    code, md, _ = cli("leaderboard", tmp_path / "r")
    assert "protocol react2025" in md and "session-pool rule" in md


def test_online_run_checks_causality_at_window_level(cli, mars, tmp_path):
    _run(cli, "--protocol", "react2026", "--data", mars, "--model", "b_mime", "--task",
         "online", "--samples", "3", "--out", tmp_path)
    rec = read_result(tmp_path / "b_mime_online_test_react2026_a3_s0.json")
    assert rec["window"] == 30 and rec["causality"]["passed"]
    assert "MAE" in rec["metrics"]
    code, _, err = cli("run", "--protocol", "react2025", "--data", mars, "--model", "b_mime",
                       "--task", "online", "--window", "25", "--out", tmp_path / "w")
    assert code != 0 and "--window 25" in err and "windows of 30 frames" in err
    code, _, err = cli("run", "--protocol", "react2025", "--data", mars, "--model",
                       "b26_mime", "--task", "online", "--out", tmp_path / "w")
    assert code != 0 and "--task offline" in err


def test_one_model_under_two_protocols(cli, mars, tiny_dataset, tmp_path):
    out = _run(cli, "--protocol", "react2024,react2025", "--data", tiny_dataset,
               "--data-mars", mars, "--model", "b_mime", "--samples", "2", "--out", tmp_path)
    files = sorted(p.name for p in tmp_path.glob("*.json"))
    assert files == ["b_mime_offline_test_official_a2_s0.json",
                     "b_mime_offline_test_react2025_a2_s0.json",
                     "b_mime_offline_test_react2025_a2_s0.targets.json"]
    assert "protocol official:" in out and "protocol react2025:" in out
    code, _, err = cli("leaderboard", tmp_path)
    assert code != 0 and "refusing to mix protocols" in err
    for proto in ("official", "react2025"):
        code, md, err = cli("leaderboard", tmp_path / f"b_mime_offline_test_{proto}_a2_s0.json")
        assert code == 0 and f"protocol {proto}" in md, err
    code, _, err = cli("run", "--protocol", "react2024,react2099", "--model", "b_mime")
    assert code != 0 and "unknown protocol 'react2099'" in err


def test_bad_predictions_name_the_clip(cli, mars, tmp_path):
    data = load_clips(mars, "test", bidirectional=True, audio=False)
    rng = np.random.default_rng(0)
    preds = [rng.random((2, int(n), 25), dtype=np.float32) for n in data.lengths]
    preds[1] = preds[1][:, :-1]
    path = save_ragged(tmp_path / "p.npz", RaggedPredictions(preds, None, data.sample_ids))
    code, _, err = cli("score", "--protocol", "react2025", "--data", mars, "--predictions",
                       path, "--out", tmp_path / "o")
    assert code != 0
    assert f"clip {data.sample_ids[1]}: predictions have {int(data.lengths[1]) - 1} frames" in err
    emo, _, _ = load_ragged(path)
    assert len(emo) == data.n


def test_short_clips_and_missing_modalities_are_refused(cli, mars, tmp_path):
    root = tmp_path / "m"
    shutil.copytree(mars, root)
    cid = ml.list_role(root, "test", "speaker")[0]
    ml.clip_path(root, "test", ml.COEFFICIENTS_DIR, cid).unlink()
    code, _, err = cli("run", "--protocol", "react2025", "--data", root, "--model", "b_mime",
                       "--out", tmp_path / "o", "--no-progress")
    assert code != 0 and cid.split("/")[-1] in err and ml.COEFFICIENTS_DIR in err
    short = tmp_path / "short"
    for role in ("speaker", "listener"):
        _mars.write_clip(short, "test", f"{role}/ses0/x", 40, wav=False, features=False)
    code, _, err = cli("run", "--protocol", "react2025", "--data", short, "--model", "b_mime",
                       "--out", tmp_path / "o2", "--no-progress")
    assert code != 0 and "has 40 frames; expected at least 58" in err


def test_a_plugin_error_on_whole_samples_names_the_teams_line(cli, mars, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_plugin(tmp_path)
    code, _, err = cli("run", "--no-progress", "--protocol", "react2025", "--data", mars,
                       "--model", "team_model.py:SamplesFail", "--out", tmp_path / "r")
    assert code == 2
    assert (f"model 'samples_fail' raised RuntimeError: mat1 and mat2 shapes cannot be "
            f"multiplied (3x25 and 7x25) (in generate_samples; "
            f"{where('SamplesFail', 'team_model.py')}, raised in torch/nn/modules/linear.py:"
            ) in err, err


def test_emotionvae_alignment_from_a_random_checkpoint(cli, mars_small, tmp_path):
    """`run --gt-align emotionvae` with a randomly initialised checkpoint: the result records
    the checkpoint's hash, the torch seed and the deviation label; `score --targets` with the
    same checkpoint reproduces the numbers, another checkpoint is refused."""
    import hashlib

    import torch

    from reactbench.data.emotionvae import EmotionVAE
    from reactbench.data.targets import DEVIATIONS

    small = dict(feature_dim=16, nhead=8, num_encoder_layers=1, num_decoder_layers=1,
                 global_token_len=2, max_seq_len=1000, dim_feedforward=32)
    ckpt, other = tmp_path / "evae.pth", tmp_path / "other.pth"
    for seed, path in ((0, ckpt), (1, other)):
        torch.manual_seed(seed)
        torch.save(EmotionVAE(**small).state_dict(), path)
    flags = ("--gt-align", "emotionvae", "--gt-align-checkpoint", ckpt)
    out = _run(cli, "--protocol", "react2025", "--data", mars_small, "--model", "b_mime",
               "--samples", "2", "--metrics", "FRCorr,MAE", "--out", tmp_path / "r", *flags)
    rec = read_result(tmp_path / "r" / "b_mime_offline_test_react2025_a2_s0.json")
    t = rec["targets"]
    assert t["gt_align"] == "emotionvae" and t["torch_seed"] == 1234
    assert t["checkpoint_sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert t["post_clip_length"] == 1000
    assert t["deviation"] == DEVIATIONS["emotionvae"] and "seed" in t["deviation"]
    doc = json.loads((tmp_path / "r" / t["file"]).read_text())
    assert doc["gt_align"] == "emotionvae" and doc["checkpoint_sha256"] == t["checkpoint_sha256"]
    assert f"--gt-align emotionvae --gt-align-checkpoint {ckpt}" in out
    code, md, err = cli("leaderboard", tmp_path / "r")
    assert code == 0, err
    assert "EmotionVAE post-processor (checkpoint sha256 " + t["checkpoint_sha256"][:12] in md
    assert "torch seed 1234; a deviation" in md
    # the same targets again, from the file the run wrote
    saved = rec["predictions"][0]["path"]
    code, _, err = cli("score", "--protocol", "react2025", "--data", mars_small,
                       "--predictions", saved, "--metrics", "FRCorr,MAE", "--targets",
                       tmp_path / "r" / t["file"], "--out", tmp_path / "s", "--no-progress",
                       *flags)
    assert code == 0, err
    again = read_result(next((tmp_path / "s").glob("*_react2025_a2.json")))
    assert {k: v for k, v in again["targets"].items() if k != "file"} == \
        {k: v for k, v in t.items() if k != "file"}
    for m, e in rec["metrics"].items():
        assert again["metrics"][m]["value"] == pytest.approx(e["value"], rel=1e-12)
    code, _, err = cli("score", "--protocol", "react2025", "--data", mars_small,
                       "--predictions", saved, "--metrics", "FRCorr", "--targets",
                       tmp_path / "r" / t["file"], "--out", tmp_path / "o", "--no-progress",
                       "--gt-align", "emotionvae", "--gt-align-checkpoint", other)
    assert code == 2 and f"but {other} has sha256" in err, err
