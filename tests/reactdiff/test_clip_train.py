"""ReactDiff on a tiny MARS dataset (REACT2025/2026): `reactbench train --protocol react2025`
for a few steps, the checkpoint's dataset identity, and generation and scoring through
`reactbench run --protocol react2025` offline and online."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reactbench.errors import ModelError
from reactbench.results import read_result

from .fakes import tiny_config


@pytest.fixture(scope="module")
def mars(tmp_path_factory):
    from reactbench.data import mars_synthetic

    out = tmp_path_factory.mktemp("mars-train") / "mars"
    return mars_synthetic.generate(out, sessions=2, dyads={"train": 2, "val": 1, "test": 1},
                                   min_frames=58, max_frames=200, seed=1)


@pytest.fixture(scope="module")
def tiny_json(tmp_path_factory):
    """tiny_config with 40-frame crops and a 4-step diffusion schedule (the runs below sample
    every test clip offline and online; the schedule's length is not under test)."""
    cfg = tiny_config().to_dict()
    model = {k: v for k, v in cfg["model"].items() if k != "streams"}
    model["diffusion_steps"] = 4
    path = tmp_path_factory.mktemp("cfg") / "tiny.json"
    path.write_text(json.dumps({"model": model, "train": {**cfg["train"], "crop": 40}}))
    return path


@pytest.fixture(scope="module")
def trained(mars, tiny_json, tmp_path_factory):
    import torch  # the tiny model trains fastest on one thread (set before the test's fixture)

    from reactbench.cli import main

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("run") / "mars-run"
    rc = main(["train", "--model", "reactdiff", "--protocol", "react2025", "--data", str(mars),
               "--out", str(out), "--config", str(tiny_json), "--max-steps", "2",
               "--no-progress"])
    assert rc == 0
    return out / "model.pt"


def test_train_records_the_mars_identity(trained, mars):
    from reactbench.reactdiff import checkpoint as ck

    from reactbench.data.mars import load_clips

    model = ck.read_checkpoint(trained)
    assert set(model["dataset"]) == {"train", "val"}
    assert model["dataset"]["train"]["layout"] == "mars"
    streams = [s["source"] for s in model["config"]["model"]["streams"]]
    assert streams == ["emotion:au", "emotion:fe", "emotion:va", "3dmm", "audio:wav2vec"]
    assert model["widths"]["wav2vec"] == 768 and model["config"]["model"]["window"] == 10
    # the harness's training split (no audio) has the recorded identity: the check passes
    harness_train = load_clips(mars, "train", audio=False, audio_features=False)
    ck.check_dataset(model, harness_train.identity, "cmd")
    other = {**harness_train.identity, "content_hash": "0" * 64}
    with pytest.raises(ModelError, match="--protocol react2025"):
        ck.check_dataset(model, other, "reactbench train --model reactdiff")


def test_run_offline_and_online_on_mars(trained, mars, cli, tmp_path):
    for task in ("offline", "online"):
        code, out, err = cli("run", "--no-progress", "--model", "reactdiff", "--protocol",
                             "react2025", "--data", mars, "--task", task, "--samples", "2",
                             "--model-arg", f"checkpoint={trained}", "--no-cache",
                             "--out", tmp_path / task)
        assert code == 0, err
        rec = read_result(tmp_path / task / f"reactdiff_{task}_test_react2025_a2_s0.json")
        assert rec["model"]["trained_on"]["train"]["layout"] == "mars"
        assert all(np.isfinite(m["value"]) for m in rec["metrics"].values())
        if task == "online":
            assert rec["causality"]["passed"]


def test_the_react2024_checkpoint_is_refused_on_mars(mars, cli, tmp_path):
    code, _, err = cli("run", "--no-progress", "--model", "reactdiff", "--protocol", "react2025",
                       "--data", mars, "--samples", "2", "--no-cache", "--out", tmp_path,
                       "--model-arg", "checkpoint=" + str(_shipped()))
    assert code != 0 and "--protocol react2025" in err and "trained on other data" in err


def test_train_flag_errors(mars, tmp_path, cli):
    code, _, err = cli("train", "--model", "reactdiff", "--data", mars, "--out",
                       tmp_path / "x", "--no-progress")
    assert code != 0 and "MARS-layout" in err and "--protocol react2025" in err


def _shipped():
    from reactbench.reactdiff import checkpoint as ck

    return ck.SHIPPED


def test_mars_protocols_default_to_the_mars_checkpoint(tmp_path, monkeypatch):
    from reactbench.reactdiff import checkpoint as ck
    from reactbench.reactdiff.plugin import ReactDiff, ReactDiffNoMMT

    from reactbench.harness.entries import create_models
    from reactbench.harness.options import RunOptions

    shipped = tmp_path / "mars.pt"
    shipped.write_bytes(b"x")
    monkeypatch.setattr(ck, "SHIPPED_MARS", shipped)
    assert ReactDiff.harness_options(protocol="react2026", device="cpu") == {
        "checkpoint": str(shipped), "device": "cpu"}
    assert ReactDiff.harness_options(protocol="react2024", device="cuda") == {"device": "cuda"}
    assert ReactDiffNoMMT.harness_options(protocol="react2025", device="cpu") == {"device": "cpu"}
    made = create_models(["reactdiff"], RunOptions(protocol="react2025"), None)
    assert made["reactdiff"].checkpoint == shipped
    mine = tmp_path / "mine.pt"
    made = create_models(["reactdiff"], RunOptions(
        protocol="react2025", model_args={"reactdiff": {"checkpoint": str(mine)}}), None)
    assert made["reactdiff"].checkpoint == mine  # the user's option wins
    made = create_models(["reactdiff"], RunOptions(), None)
    assert made["reactdiff"].checkpoint == ck.SHIPPED
