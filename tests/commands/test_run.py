"""`reactbench run` end to end through the CLI on the tiny synthetic dataset."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from reactbench.predictions import load_predictions
from reactbench.registry import BASELINES
from reactbench.results import read_result
from reactbench.tracebacks import shown_path
from tests.helpers import quick_runs
from tests.helpers.failing_plugins import (
    IMPORT_ERROR,
    SYNTAX_ERROR,
    line_of,
    where,
    write_plugin,
)
from tests.helpers.runs import ALPHA, EXAMPLE, PLUGINS, results_in, run_args


@pytest.fixture(scope="module")
def offline_run(tiny_dataset, tmp_path_factory):
    """All baselines + the example plug-in, offline (run once for this module)."""
    from reactbench.cli import main

    out = tmp_path_factory.mktemp("offline")
    code = main(run_args(tiny_dataset, out, "--model", f"baselines,{EXAMPLE}:LaggedMime"))
    assert code == 0
    return out


@pytest.fixture(scope="module")
def online_run(tiny_dataset, tmp_path_factory):
    from reactbench.cli import main

    out = tmp_path_factory.mktemp("online")
    code = main(run_args(tiny_dataset, out, "--model", f"baselines,{EXAMPLE}:LaggedMime",
                         "--task", "online", "--window", "50"))
    assert code == 0
    return out


@pytest.mark.parametrize("fixture", ["offline_run", "online_run"])
def test_every_baseline_and_the_example_write_a_result(fixture, request, tiny_dataset):
    out = request.getfixturevalue(fixture)
    task = fixture.split("_")[0]
    recs = results_in(out)
    assert set(recs) == {*BASELINES, "lagged_mime"}
    for name, rec in recs.items():
        assert rec["task"] == task and rec["split"] == "test" and rec["alpha"] == ALPHA
        assert rec["seeds"] == [0] and rec["protocol"] == "official"
        assert set(rec["metrics"]) >= {"FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRSyn"}
        assert all(np.isfinite(e["value"]) for e in rec["metrics"].values())
        assert rec["model"]["reference"] is (name == "gt")
        assert rec["dataset"]["n"] == 8 and rec["dataset"]["content_hash"]
        if task == "online":
            assert rec["window"] == 50 and rec["causality"]["passed"]
            assert rec["causality"]["windows_checked"][0] == [0, 50]
        else:
            assert rec["window"] is None and rec["causality"] is None


def test_official_definition_properties(offline_run, online_run):
    """B_Mime FRDiv = 0, B_MeanFr FRVar = 0, B_MeanSeq/B_MeanFr FRDvs = 0, GT FRDist = 0."""
    for out in (offline_run, online_run):
        m = {k: {n: e["value"] for n, e in r["metrics"].items()} for k, r in
             results_in(out).items()}
        assert m["b_mime"]["FRDiv"] == pytest.approx(0, abs=1e-9)
        assert m["gt"]["FRDiv"] == pytest.approx(0, abs=1e-9)
        assert m["b_meanfr"]["FRVar"] == pytest.approx(0, abs=1e-9)
        assert m["b_meanseq"]["FRDvs"] == pytest.approx(0, abs=1e-9)
        assert m["b_meanfr"]["FRDvs"] == pytest.approx(0, abs=1e-9)
        assert m["gt"]["FRDist"] == pytest.approx(0, abs=1e-6)
        assert m["b_random"]["FRDiv"] > 0 and m["b_nn"]["FRDiv"] > 0


def test_summary_table_lists_every_model(tiny_dataset, tmp_path, cli):
    code, out, err = cli(*run_args(tiny_dataset, tmp_path / "r", "--model",
                                   "b_mime,gt,b_meanfr"))
    assert code == 0, err
    table = out[out.index("Method"):]
    for label in ("GT", "B_Mime", "B_MeanFr", "FRCorr ↑", "FRDist ↓", "FRSyn ↓"):
        assert label in table
    assert "3 result file(s)" in out


def test_several_seeds_give_mean_and_spread(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model", "b_random", "--seed", "0,1"))
    assert code == 0, err
    rec = results_in(tmp_path)["b_random"]
    assert rec["seeds"] == [0, 1] and len(rec["per_seed"]) == 2
    div = rec["metrics"]["FRDiv"]
    assert div["std"] is not None
    vals = [s["metrics"]["FRDiv"] for s in rec["per_seed"]]
    assert div["value"] == pytest.approx(np.mean(vals))


def test_list_models(cli):
    code, out, _ = cli("run", "--list-models")
    assert code == 0
    for name in (*BASELINES, "reactdiff", "reactdiff-no-mmt", "baselines"):
        assert name in out


# ----------------------------------------------------------------------------- bad input
def test_unknown_model_suggests(cli, tmp_path):
    code, out, err = cli("run", "--model", "b_mimee", "--out", str(tmp_path / "x"))
    assert code == 2
    assert "unknown model 'b_mimee'" in err and "Did you mean 'b_mime'" in err
    assert not (tmp_path / "x").exists()


FIT_FAILS = 'raise ValueError("cannot fit on this split")'


@pytest.mark.parametrize(
    ("cls", "needle"),
    [
        ("Raises", "raised RuntimeError: boom inside the plug-in"),
        ("FitRaises", "raised ValueError: cannot fit on this split (in fit; at "
                      f"{shown_path(str(PLUGINS))}:{line_of(PLUGINS.read_text(), FIT_FAILS)} "
                      f"`{FIT_FAILS}`) (--traceback shows the whole traceback)"),
        ("WrongShape", "expected (B, alpha, t, 25) = (8, 3, 120, 25)"),
        ("Nan", "returned NaN/inf reactions (1 values), first at row 7"),
        ("OutOfRange", "outside the attribute ranges"),
        ("NotReactions", "expected reactbench.models.Reactions"),
        ("OnlineOnly", "OnlineOnly does not implement generate(speaker, *, alpha, seed), which "
                       "the offline task and the default generate_online call; a model with only "
                       "its own generate_online runs with --task online only"),
    ],
)
def test_bad_plugin_fails_cleanly_and_writes_nothing(cls, needle, tiny_dataset, tmp_path, cli):
    out = tmp_path / "res"
    code, _, err = cli(*run_args(tiny_dataset, out, "--model", f"b_mime,{PLUGINS}:{cls}"))
    assert code == 2
    assert needle in err, err
    written = sorted(p.name for p in out.glob("*"))
    assert written == ["b_mime_offline_test_official_a3_s0.json"]  # the earlier model's only
    json.loads((out / written[0]).read_text())


def test_online_only_model_runs_online(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "res", "--model",
                                 f"{PLUGINS}:OnlineOnly", "--task", "online"))
    assert code == 0, err
    assert results_in(tmp_path / "res")["online_only"]["causality"]["passed"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--model-arg", "nope=1"], "no model in ['b_mime'] accepts option 'nope'"),
        (["--samples", "0"], "--samples must be >= 1"),
        (["--seed", "x"], "--seed expects integers"),
        (["--model-arg", "other@k=1"], "model 'other' is not in --model"),
    ],
)
def test_bad_flags(args, needle, tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "o", "--model", "b_mime", *args))
    assert code == 2 and needle in err, err


def test_examples_readme_snippet_runs(tiny_dataset, tmp_path, cli):
    text = (EXAMPLE.parent / "README.md").read_text()
    code_block = text.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "my_model.py").write_text(code_block)
    code, out, err = cli(*run_args(tiny_dataset, tmp_path / "o", "--model",
                                   f"{tmp_path / 'my_model.py'}:MyModel", "--model-arg",
                                   "strength=0.8", "--task", "online"))
    assert code == 0, err
    assert results_in(tmp_path / "o")["my_model"]["model"]["params"] == {"strength": 0.8}


def test_3dmm_kept_only_for_realism_3dmm(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "a", "--model", "b_nn"))
    assert code == 0, err
    plain = results_in(tmp_path / "a")["b_nn"]
    code, out, err = cli(*run_args(tiny_dataset, tmp_path / "b", "--model", "b_nn,b_mime",
                                   "--realism-3dmm"))
    assert code == 0, err
    rich = results_in(tmp_path / "b")["b_nn"]
    # B_Mime returns no 3DMM: no FRRea-feat in that feature space, shown as "-"
    assert "FRRea" not in results_in(tmp_path / "b")["b_mime"]["metrics"]
    assert "FRRea-feat with --realism-3dmm is skipped" in out
    mime_row = next(line for line in out.splitlines() if line.startswith("B_Mime"))
    assert " - " in mime_row
    assert plain["realism_features"] == "emotion" and rich["realism_features"] == "emotion+3dmm"
    assert load_predictions(plain["predictions"][0]["path"]).face_3dmm is None
    assert load_predictions(rich["predictions"][0]["path"]).face_3dmm.shape == (8, ALPHA, 120, 58)


def test_corrected_protocol_with_bootstrap_and_mixed_table_refused(offline_run, tiny_dataset,
                                                                    tmp_path, cli):
    code, out, err = cli(*run_args(tiny_dataset, tmp_path, "--model", "b_random",
                                   "--protocol", "corrected", "--bootstrap", "20"))
    assert code == 0, err
    rec = results_in(tmp_path)["b_random"]
    assert rec["protocol"] == "corrected" and rec["bootstrap"] == 20
    lo, hi = rec["metrics"]["FRDiv"]["ci"]
    assert lo <= rec["metrics"]["FRDiv"]["value"] <= hi
    assert " ± " in out
    code, _, err = cli("leaderboard", offline_run, tmp_path)
    assert code == 2 and "refusing to mix protocols" in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--samples", "1"], "FRDiv compares reactions of one speaker: it needs --samples >= 2"),
        (["--metrics", "FRCorr,Nope"], "--metrics: unknown metric(s) ['Nope']"),
    ],
)
def test_unscorable_requests_fail_before_generating(args, needle, tiny_dataset, tmp_path, cli):
    code, out, err = cli(*run_args(tiny_dataset, tmp_path / "o", "--model", "b_mime", *args))
    assert code == 2 and needle in err, err
    assert "Traceback" not in err and not list(tmp_path.glob("o/*.json"))


def test_split_without_neighbour_matrix(tiny_dataset, tmp_path, cli):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    (data / "neighbour_emotion_test.npy").unlink()
    code, _, err = cli(*run_args(data, tmp_path / "o", "--model", "b_mime"))
    assert code == 2
    assert "has no neighbour matrix (neighbour_emotion_test.npy)" in err
    assert "reactbench appropriate --data" in err
    code, _, err = cli(*run_args(data, tmp_path / "o", "--model", "b_mime", "--samples", "1",
                                 "--metrics", "FRVar,FRDvs,FRSyn"))
    assert code == 0, err
    rec = results_in(tmp_path / "o")["b_mime"]
    assert set(rec["metrics"]) == {"FRVar", "FRDvs", "FRSyn"}


def test_run_lists_saved_predictions_and_the_score_command(tiny_dataset, tmp_path, cli):
    code, out, err = cli(*run_args(tiny_dataset, tmp_path / "o", "--model", "b_mime",
                                   "--frames", "100", "--task", "online", "--window", "25",
                                   "--protocol", "corrected", "--metrics", "FRCorr,FRDist"))
    assert code == 0, err
    head, listed = out.split("re-score one with: reactbench score --predictions FILE ", 1)
    flags, _, rows = listed.partition("\n")
    assert flags == (f"--split test --data {tiny_dataset} --frames 100 --task online "
                     "--window 25 --protocol corrected --metrics FRCorr,FRDist --name NAME):")
    (row,) = rows.strip().splitlines()
    name, seed, path = row.split()[0], row.split()[2], row.split()[3]
    rec = results_in(tmp_path / "o")["b_mime"]
    assert (name, seed, path) == ("b_mime", "0", rec["predictions"][0]["path"])
    code, _, err = cli("score", "--predictions", path, *flags[:-len(" --name NAME):")].split(),
                       "--name", "again", "--out", tmp_path / "s", "--no-progress", "--jobs", "1")
    assert code == 0, err
    again = results_in(tmp_path / "s")["again"]
    assert {k: v["value"] for k, v in again["metrics"].items()} == \
        {k: v["value"] for k, v in rec["metrics"].items()}
    code, out, err = cli(*run_args(tiny_dataset, tmp_path / "n", "--model", "b_mime",
                                   "--no-cache"))
    assert code == 0, err
    assert "re-score one with" not in out


def test_running_mean_example_fits_and_streams_what_it_generates_offline(tiny_dataset, tmp_path,
                                                                          cli):
    spec = f"{EXAMPLE.parent / 'running_mean.py'}:RunningMean"
    preds = {}
    for task in ("offline", "online"):
        code, _, err = cli(*run_args(tiny_dataset, tmp_path / task, "--model", spec, "--task",
                                     task, "--window", "30", "--model-arg", "gain=0.5",
                                     "--metrics", "FRDist"))
        assert code == 0, err
        rec = results_in(tmp_path / task)["running_mean"]
        assert rec["model"]["params"] == {"gain": 0.5, "noise": 0.05}
        preds[task] = load_predictions(rec["predictions"][0]["path"]).emotion
    assert rec["causality"]["passed"]
    np.testing.assert_allclose(preds["online"], preds["offline"], atol=1e-6)
    assert np.ptp(preds["offline"][..., 15:17]) > 0


def test_realism_features_recorded_only_with_frrea(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*quick_runs.run_args(tiny_dataset, tmp_path, "--model", "b_mime",
                                            "--realism-3dmm"))
    assert code == 0, err
    assert read_result(next(tmp_path.glob("*.json")))["realism_features"] is None


# ----------------------------------------------------------------------------- a team's exception
HINT = "(--traceback shows the whole traceback)"
TORCH_LINE = ", raised in torch/nn/modules/linear.py:"


def test_a_plugin_error_names_the_teams_own_line(tiny_dataset, tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_plugin(tmp_path)
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "o", "--model",
                                 "team_model.py:InTorch"))
    assert code == 2
    assert ("reactbench run: error: model 'in_torch' raised RuntimeError: mat1 and mat2 shapes "
            "cannot be multiplied") in err
    assert f"(in generate for rows 0..7; {where('InTorch', 'team_model.py')}{TORCH_LINE}" in err
    assert err.rstrip().endswith(HINT) and "Traceback" not in err
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "o", "--model", "team_model.py:Direct",
                                 "--task", "online", "--window", "40"))
    assert code == 2 and (f"raised ValueError: no reactions today (in generate_online(start=0, "
                          f"end=40) for rows 0..7; {where('Direct', 'team_model.py')}) {HINT}"
                          ) in err, err


@pytest.mark.parametrize("position", ["before", "after"])
def test_traceback_shows_the_whole_chain(tiny_dataset, tmp_path, cli, monkeypatch, position):
    monkeypatch.chdir(tmp_path)
    write_plugin(tmp_path)
    args = run_args(tiny_dataset, tmp_path / "o", "--model", "team_model.py:InTorch")
    args = ["--traceback", *args] if position == "before" else [*args, "--traceback"]
    code, _, err = cli(*args)
    assert code == 2
    assert err.startswith("Traceback (most recent call last):")
    line = line_of((tmp_path / "team_model.py").read_text(), "y = self.head(x)")
    assert f'team_model.py", line {line}, in generate' in err
    assert 'torch/nn/modules/linear.py", line' in err
    assert "The above exception was the direct cause of the following exception" in err
    last = err.rstrip().splitlines()[-1]
    assert last.startswith("reactbench run: error: model 'in_torch' raised RuntimeError")
    assert TORCH_LINE in last and HINT not in last


@pytest.mark.parametrize(("cls", "needle"), [
    ("FitFails", "model 'fit_fails' raised RuntimeError: the team's fit failed (in fit; "),
    ("BuildFails", "model 'team_model.py:BuildFails': constructing it failed: KeyError: "
                   "'no such layer' ("),
])
def test_fit_and_constructor_errors_name_the_teams_line(tiny_dataset, tmp_path, cli,
                                                        monkeypatch, cls, needle):
    monkeypatch.chdir(tmp_path)
    write_plugin(tmp_path)
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "o", "--model",
                                 f"team_model.py:{cls}"))
    assert code == 2 and f"{needle}{where(cls, 'team_model.py')}) {HINT}" in err, err


@pytest.mark.parametrize(("source", "needle"), [
    (SYNTAX_ERROR, "SyntaxError: invalid syntax (at broken.py:4 `def broken(:`)"),
    (IMPORT_ERROR, "NameError: name 'undefined_name' is not defined (at broken.py:3 "
                   "`LAYERS = undefined_name + 1`)"),
])
def test_a_plugin_file_that_fails_to_import_names_its_line(tmp_path, cli, monkeypatch, source,
                                                           needle):
    monkeypatch.chdir(tmp_path)
    write_plugin(tmp_path, "broken.py", source)
    code, _, err = cli("run", "--model", "broken.py:Model", "--out", tmp_path / "o")
    assert code == 2
    assert f"error: importing model file broken.py failed: {needle} {HINT}" in err, err


def test_traceback_through_the_installed_command(tiny_dataset, tmp_path):
    write_plugin(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "reactbench", "--traceback",
         *run_args(tiny_dataset, tmp_path / "o", "--model", "team_model.py:InTorch")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("Traceback (most recent call last):")
    assert 'torch/nn/modules/linear.py", line' in proc.stderr
    assert proc.stderr.rstrip().splitlines()[-1].startswith(
        "reactbench run: error: model 'in_torch' raised RuntimeError")
    assert where("InTorch", "team_model.py") + TORCH_LINE in proc.stderr
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())
