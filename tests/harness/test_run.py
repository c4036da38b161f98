"""Whole runs (reactbench.harness.runner): result files checked before any work, kept results
checked against the run asked for."""

from __future__ import annotations

from tests.helpers import runs
from tests.helpers.quick_runs import PLUGINS, run_args


def test_skip_existing_refuses_a_stored_result_of_another_run(tiny_dataset, tmp_path, cli):
    out = tmp_path / "res"
    assert cli(*run_args(tiny_dataset, out, "--model", "b_mime"))[0] == 0
    (stored,) = out.glob("*.json")
    before = stored.read_bytes()
    # another metric set, another frame count: both differ from the stored run
    code, _, err = cli(*run_args(tiny_dataset, out, "--model", "b_mime", "--skip-existing",
                                 "--metrics", "FRDist", "--frames", "100"))
    assert code == 2 and "is not the run asked for" in err, err
    assert "metrics: stored ['FRCorr', 'FRDist'], asked ['FRDist']" in err
    assert "frames: stored 120, asked 100" in err
    assert stored.read_bytes() == before
    # the same run is kept
    code, text, err = cli(*run_args(tiny_dataset, out, "--model", "b_mime", "--skip-existing"))
    assert code == 0 and "keeping existing result" in text, err
    assert stored.read_bytes() == before


def test_a_plugin_cannot_take_a_built_in_name(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model", f"{PLUGINS}:CallsItselfGT"))
    assert code == 2 and "calls itself 'gt', the name of the built-in model" in err, err
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model",
                                 "reactbench.baselines.gt:GroundTruth"))
    assert code == 0, err  # the built-in's own class, named by its module path


def test_models_whose_names_map_to_one_file_are_named(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model",
                                 f"{PLUGINS}:SpacedName,{PLUGINS}:DashedName"))
    assert code == 2 and "two models would write the same result file" in err, err
    assert "(model name 'my model')" in err and "(model name 'my-model')" in err
    assert "my-model_offline_test_official_a2_s0.json" in err
    assert not tmp_path.exists() or not list(tmp_path.iterdir())


def test_results_directory_holding_the_run_is_refused(tiny_dataset, tmp_path, cli):
    out = tmp_path / "res"
    assert cli(*runs.run_args(tiny_dataset, out, "--model", "b_mime"))[0] == 0
    target = out / "b_mime_offline_test_official_a3_s0.json"
    before = target.read_bytes()
    code, _, err = cli(*runs.run_args(tiny_dataset, out, "--model", "b_meanfr,b_mime"))
    assert code == 2
    assert "already holds these runs" in err and "nothing was run or overwritten" in err
    assert target.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [target.name]
    # --skip-existing keeps the stored result and runs only the missing model
    code, text, err = cli(*runs.run_args(tiny_dataset, out, "--model", "b_meanfr,b_mime",
                                         "--skip-existing"))
    assert code == 0, err
    assert target.read_bytes() == before and "keeping existing result" in text
    assert "B_Mime" in text and "B_MeanFr" in text
    assert len(list(out.glob("*.json"))) == 2

