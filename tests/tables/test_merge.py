"""Runs of one model merged into one row (reactbench.merge, leaderboard --merge-runs)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from reactbench.errors import ResultsError
from reactbench.merge import merge_runs
from reactbench.tables import render
from tests.helpers.records import model_runs, record, values


def test_mean_and_std_over_runs_and_singletons_untouched():
    runs = model_runs("reactdiff", [0.7, 0.8, 0.9], [90.0, 88.0, 86.5])
    other = record("b_mime", values(0.5, 108.0, 0, 0.04, 0.1, 0, 49))
    merged = merge_runs([runs[0], other, runs[1], runs[2]])
    assert [r["model"]["name"] for r in merged] == ["reactdiff", "b_mime"]
    assert merged[1] is other
    row = merged[0]["metrics"]
    assert row["FRCorr"]["value"] == pytest.approx(0.8)
    assert row["FRCorr"]["std"] == pytest.approx(np.std([0.7, 0.8, 0.9], ddof=1))
    assert row["FRDist"]["std"] == pytest.approx(np.std([90.0, 88.0, 86.5], ddof=1))
    assert row["FRSyn"]["std"] == 0.0 and row["FRCorr"]["ci"] is None
    assert [r["params"]["checkpoint"] for r in merged[0]["runs"]] == [
        f"runs/reactdiff-seed{i}/model.pt" for i in range(3)]
    assert runs[0]["metrics"]["FRCorr"]["value"] == 0.7  # inputs unchanged


def test_table_shows_mean_pm_std_and_says_what_it_is():
    recs = merge_runs(model_runs("reactdiff", [0.7, 0.8, 0.9], [90.0, 88.0, 86.5])
                      + [record("b_mime", values(0.5, 108.0, 0, 0.04, 0.1, 0, 49))])
    md = render(recs, fmt="md", table="offline")
    assert "| ReactDiff | **0.800 ± 0.100** |" in md
    assert "standard deviation over 3 runs merged into the row (e.g. training seeds" in md
    assert "B_Mime" in md and "B\\_Mime" not in md
    rows = {r["model"]: r for r in csv.DictReader(io.StringIO(render(recs, fmt="csv")))}
    assert rows["reactdiff"]["runs"] == "3" and rows["b_mime"]["runs"] == "1"
    assert float(rows["reactdiff"]["FRCorr_std"]) == pytest.approx(0.1)
    assert rows["b_mime"]["FRCorr_std"] == ""


def test_without_merging_two_runs_of_one_model_are_refused_with_the_option_named():
    with pytest.raises(ResultsError, match=r"two results for model 'reactdiff'.*or merge_runs to"):
        render(model_runs("reactdiff", [0.7, 0.8], [90.0, 88.0]), fmt="md")


@pytest.mark.parametrize(("change", "what"), [
    (lambda r: r.update(alpha=5), "alpha"),
    (lambda r: r.update(seeds=[0, 1]), "generation seeds"),
    (lambda r: r["model"].update(version="2"), "model version"),
    (lambda r: r["metrics"].pop("FRSyn"), "metrics"),
    (lambda r: r["dataset"].update(content_hash="other"), "dataset"),
])
def test_runs_of_different_evaluations_are_not_merged(change, what):
    runs = model_runs("reactdiff", [0.7, 0.8], [90.0, 88.0])
    change(runs[1])
    with pytest.raises(ResultsError, match=rf"cannot merge seed0/reactdiff.json and "
                                           rf"seed1/reactdiff.json .* their {what} differ"):
        merge_runs(runs)


def test_dataset_root_may_differ():
    runs = model_runs("reactdiff", [0.7, 0.8], [90.0, 88.0])
    runs[1]["dataset"]["root"] = "/elsewhere"
    assert len(merge_runs(runs)) == 1


def test_online_row_checked_only_when_every_run_passed():
    runs = model_runs("reactdiff", [0.7, 0.8], [90.0, 88.0], task="online")
    for r in runs:
        r["causality"] = {"passed": True, "windows_checked": [[0, 50]], "rows_checked": [0],
                          "detail": ""}
    assert merge_runs(runs)[0]["causality"]["passed"]
    runs[1]["causality"] = None
    assert merge_runs(runs)[0]["causality"] is None
    assert "ReactDiff †" in render(merge_runs(runs), fmt="md", table="online")


def test_a_metric_missing_in_a_run_is_not_shown():
    runs = model_runs("reactdiff", [0.7, 0.8], [90.0, 88.0])
    runs[1]["metrics"]["FRDist"]["value"] = None
    assert merge_runs(runs)[0]["metrics"]["FRDist"] == {
        **runs[0]["metrics"]["FRDist"], "value": None, "std": None, "ci": None}
