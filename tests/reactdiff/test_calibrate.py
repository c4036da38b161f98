"""The sampling temperature chosen on val after training (models/reactdiff/calibrate.py)."""

from __future__ import annotations

import json

import pytest

from reactbench.cli import main

from .fakes import tiny_config


def _rows(*triples):
    return [{"temperature": t, "FRCorr": c, "FRDist": d} for t, c, d in triples]


def test_choose_best_mean_rank_ties_to_the_higher_temperature():
    from reactbench.reactdiff.calibrate import choose

    temp, how = choose(_rows((0.15, 0.9, 80.0), (0.3, 0.8, 85.0), (0.6, 0.7, 90.0)))
    assert temp == 0.15 and "temperatures 0.15, 0.3, 0.6" in how and "val split" in how
    # 0.15: ranks 0 + 2; 0.6: ranks 2 + 0 -> a tie, the higher temperature wins
    assert choose(_rows((0.15, 0.9, 90.0), (0.3, 0.8, 85.0), (0.6, 0.7, 80.0)))[0] == 0.6


def _config(tmp_path, **train):
    """tiny_config as a --config file with ``train`` overrides and a 4-step diffusion schedule
    (calibration samples val at each temperature; the schedule's length is not under test)."""
    cfg = tiny_config().to_dict()
    path = tmp_path / "cfg.json"
    model = {k: v for k, v in cfg["model"].items() if k != "streams"}
    path.write_text(json.dumps({"model": {**model, "diffusion_steps": 4},
                                "train": {**cfg["train"], **train}}))
    return path


def test_train_chooses_the_temperature_on_val_and_the_plugin_samples_at_it(
        tiny_dataset, tmp_path, capsys):
    from reactbench.reactdiff import checkpoint as ck
    from reactbench.reactdiff.calibrate import choose
    from reactbench.reactdiff.plugin import ReactDiff

    from reactbench.data import load_split

    out = tmp_path / "run"
    rc = main(["train", "--model", "reactdiff", "--data", str(tiny_dataset), "--out", str(out),
               "--config", str(_config(tmp_path, temperatures=[0.5, 1.0])), "--epochs", "1",
               "--no-progress"])
    assert rc == 0
    said = capsys.readouterr().out
    assert "choosing the sampling temperature on val (0.5, 1.0)" in said and "<- chosen" in said
    scores = json.loads((out / "temperature.json").read_text())
    assert [r["temperature"] for r in scores["scores"]] == [0.5, 1.0]
    sampling = ck.read_metadata(out / "model.pt")["sampling"]
    assert sampling["temperature"] == scores["chosen"] == choose(scores["scores"])[0]
    model = ReactDiff(checkpoint=str(out / "model.pt"))
    model.fit(load_split(tiny_dataset, "train", frames=120, neighbours=False), device="cpu")
    assert model._sampler.temperature == sampling["temperature"]


def test_no_temperatures_or_no_sampling_or_no_val_neighbours_choose_nothing(tmp_path):
    from reactbench.reactdiff.calibrate import calibrate

    said = []
    cfg = tiny_config()
    assert cfg.train.temperatures == ()
    assert calibrate(tmp_path / "m.pt", cfg, None, None, "cpu", log=said.append) is None
    cfg.train.temperatures = (0.3,)
    nodiff = tiny_config("reactdiff-no-diffusion")
    nodiff.train.temperatures = (0.3,)
    assert calibrate(tmp_path / "m.pt", nodiff, None, None, "cpu", log=said.append) is None
    assert said == []
    assert calibrate(tmp_path / "m.pt", cfg, None, None, "cpu", log=said.append) is None
    assert "not calibrated" in said[0]


def test_small_preset_chooses_among_the_shipped_temperatures_and_bad_ones_are_refused():
    from reactbench.reactdiff.config import ReactDiffConfig, preset_config

    from reactbench.errors import ModelError

    assert preset_config("small").train.temperatures == (0.15, 0.3, 0.6)
    assert preset_config("paper").train.temperatures == ()
    d = preset_config("small").to_dict()
    d["train"]["temperatures"] = [0.3, 0]
    with pytest.raises(ModelError, match=r"train.temperatures must be > 0"):
        ReactDiffConfig.from_dict(d)


def test_a_run_started_before_temperatures_existed_may_resume():
    from reactbench.reactdiff.resume import resume_differences

    cfg = tiny_config()
    stored = cfg.to_dict()
    del stored["train"]["temperatures"]
    cfg.train.temperatures = (0.3,)
    assert resume_differences({"config": stored}, cfg, {}, {}) == []


def test_val_without_neighbours_names_the_dataset_and_how_to_build_them(tiny_dataset, tmp_path):
    from reactbench.reactdiff.calibrate import calibrate

    from reactbench.data import load_split

    cfg = tiny_config()
    cfg.train.temperatures = (0.3,)
    val = load_split(tiny_dataset, "val", frames=120, neighbours=False)
    said = []
    assert calibrate(tmp_path / "run" / "m.pt", cfg, None, val, "cpu", log=said.append) is None
    assert str(tiny_dataset) in said[0] and "neighbour_emotion_val.npy" in said[0]
    assert f"reactbench appropriate --data {tiny_dataset} --split val" in said[0]
    assert f"--out {tmp_path / 'run'} --resume" in said[0]


def _sampler_rows(*entries):
    return [{"ddim_steps": n, "timesteps": seq, "solver": solver, "FRCorr": c, "FRDist": d}
            for n, seq, solver, c, d in entries]


def test_choose_sampler_best_mean_rank_within_the_budget():
    from reactbench.reactdiff.calibrate import choose_sampler, sampler_label

    rows = _sampler_rows((10, None, "ddim", 0.9, 90.0),  # best on both, over the budget
                 (5, None, "ddim", 0.51, 98.0),
                 (5, [19, 17, 14, 10, 0], "ddim", 0.69, 93.0),
                 (5, [19, 17, 14, 10, 0], "dpm2m", 0.78, 94.5),
                 (4, [19, 16, 12, 0], "ddim", 0.61, 92.7))
    best, how = choose_sampler(rows, budget=5)
    # ranks (FRCorr + FRDist): 5-step ddim 3 + 3, spaced ddim 1 + 1, dpm2m 0 + 2, 4-step 2 + 0:
    # a tie of three at 2, fewer steps first
    assert sampler_label(best) == "ddim 19,16,12,0"
    assert "4 samplers of at most 5 network evaluations" in how and "val split" in how
    best, _ = choose_sampler(rows[:4], budget=5)  # spaced ddim and dpm2m tie: lower FRDist
    assert sampler_label(best) == "ddim 19,17,14,10,0"
    assert sampler_label(choose_sampler(rows, budget=10)[0]) == "ddim 10"
    with pytest.raises(ValueError, match="no sampler of at most 3 steps among 5 candidates"):
        choose_sampler(rows, budget=3)


def test_a_stored_sampler_is_the_plugins_default_and_options_override_it(tmp_path):
    import shutil  # a copy of the shipped model to write into

    from reactbench.reactdiff import checkpoint as ck
    from reactbench.reactdiff.calibrate import write_sampler, write_sampling
    from reactbench.reactdiff.plugin import ReactDiff

    path = tmp_path / "model.pt"
    shutil.copyfile(ck.SHIPPED, path)
    write_sampling(path, 0.3, "by hand")  # a new temperature drops an earlier sampler
    assert set(ck.read_metadata(path)["sampling"]) == {"temperature", "chosen_on"}
    params = ReactDiff(checkpoint=str(path)).info.params
    assert params["ddim_steps"] is None and "solver" not in params
    sampling = write_sampler(path, 4, [19, 15, 8, 0], "dpm2m", "val sweep", sampler_sweep="ab")
    assert sampling == {"temperature": 0.3, "chosen_on": "by hand", "ddim_steps": 4,
                        "timesteps": [19, 15, 8, 0], "solver": "dpm2m",
                        "sampler_chosen_on": "val sweep", "sampler_sweep": "ab"}
    assert ck.read_metadata(path)["sampling"] == sampling
    ck.read_checkpoint(path)  # the weights' digest still holds
    params = ReactDiff(checkpoint=str(path)).info.params
    assert (params["ddim_steps"], params["timesteps"], params["solver"]) == \
        (4, [19, 15, 8, 0], "dpm2m")
    params = ReactDiff(checkpoint=str(path), ddim_steps="20", solver="ddim").info.params
    assert params["ddim_steps"] == 20 and "timesteps" not in params and "solver" not in params
    # evenly spaced: the count alone; a later write replaces the earlier sampler
    assert write_sampler(path, 10, None, "ddim", "again")["ddim_steps"] == 10
    sampling = ck.read_metadata(path)["sampling"]
    assert "timesteps" not in sampling and "sampler_sweep" not in sampling


def test_the_shipped_checkpoint_samples_the_sampler_chosen_on_its_val_sweep():
    from reactbench.reactdiff import checkpoint as ck
    from reactbench.reactdiff.plugin import ReactDiff

    sampling = ck.read_metadata(ck.SHIPPED)["sampling"]
    assert (sampling["ddim_steps"], sampling["timesteps"], sampling["solver"]) == \
        (5, [19, 17, 14, 10, 0], "ddim")
    assert "val split" in sampling["sampler_chosen_on"]
    params = ReactDiff().info.params
    assert (params["ddim_steps"], params["timesteps"]) == (5, [19, 17, 14, 10, 0])
