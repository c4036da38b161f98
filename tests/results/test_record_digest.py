"""Result records prove what produced them: the command line, the content hash of the
predictions they score, and a digest over their scored content; ``reactbench leaderboard``
marks a record whose file was changed after it was written (a metric value edited by hand,
even within its interval) and names it on stderr, and renders untouched records and records
without a digest as before."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from reactbench.errors import ResultsError
from reactbench.harness.cache import content_digest
from reactbench.merge import merge_runs
from reactbench.predictions import load_predictions
from reactbench.protocols import OFFICIAL
from reactbench.results import (
    DIGEST_SCHEME,
    SCHEMA_V1,
    SCHEMAS_BEFORE_DIGEST,
    edit_finding,
    edited,
    make_record,
    metric_entry,
    read_result,
    read_results,
    record_digest,
    scored_sha256,
    validate_record,
    write_result,
    written_with_digest,
)
from reactbench.tables import render
from tests.helpers.records import record, values

N, T = 8, 120  # rows and frames of tiny_dataset's test split
WARNING = "its scored content does not match the digest it was written with"
MISSING = "its digest is missing, which reactbench writes into every result file of its form"


@pytest.fixture
def predictions_file(tmp_path) -> Path:
    path = tmp_path / "preds.npz"
    rng = np.random.default_rng(3)
    np.savez(path, emotion=rng.uniform(0, 1, (N, 2, T, 25)).astype(np.float32))
    return path


def _score(cli, data, preds, out, *extra) -> Path:
    code, _, err = cli("score", "--predictions", preds, "--data", data, "--out", out,
                       "--jobs", "1", "--no-progress", "--metrics", "FRCorr,FRDist",
                       "--bootstrap", "20", *extra)
    assert code == 0, err
    (path,) = Path(out).glob("*.json")
    return path


def _edit(path: Path, change) -> None:
    rec = json.loads(path.read_text())
    change(rec)
    path.write_text(json.dumps(rec, indent=2) + "\n")


def _leaderboard(cli, *args):
    code, out, err = cli("leaderboard", *map(str, args))
    assert code == 0, err
    return out, err


# ----------------------------------------------------------------------------- what is recorded
def test_a_scored_record_carries_its_command_predictions_hash_and_digest(
        tiny_dataset, tmp_path, cli, predictions_file):
    path = _score(cli, tiny_dataset, predictions_file, tmp_path / "out")
    rec = read_result(path)
    assert rec["command"] == [
        "reactbench", "score", "--predictions", str(predictions_file), "--data",
        str(tiny_dataset), "--out", str(tmp_path / "out"), "--jobs", "1", "--no-progress",
        "--metrics", "FRCorr,FRDist", "--bootstrap", "20"]
    assert rec["predictions"][0]["content_sha256"] == content_digest(
        load_predictions(predictions_file))
    assert rec["digest"] == {"scheme": DIGEST_SCHEME, "sha256": scored_sha256(rec)}
    assert not edited(rec)
    out, err = _leaderboard(cli, path, "--format", "md")
    assert "‡" not in out and "edited" not in out and WARNING not in err


def test_a_run_record_hashes_the_cached_predictions_it_scored(tiny_dataset, tmp_path, cli,
                                                               fresh_cache):
    args = ("run", "--model", "b_mime", "--data", tiny_dataset, "--samples", "2", "--jobs",
            "1", "--no-progress", "--metrics", "FRCorr,FRDist")
    for out in ("a", "b"):  # the second run reuses the cached predictions
        code, _, err = cli(*args, "--out", tmp_path / out)
        assert code == 0, err
    first, again = (read_result(next((tmp_path / o).glob("*.json"))) for o in ("a", "b"))
    entry = again["predictions"][0]
    assert entry["reused"] and entry["content_sha256"] == first["predictions"][0][
        "content_sha256"]
    assert entry["content_sha256"] == content_digest(load_predictions(entry["path"]))
    assert again["command"][:2] == ["reactbench", "run"] and not edited(again)


def test_a_library_record_has_no_command_and_keeps_its_digest_through_a_file(tmp_path):
    rec = make_record(
        kind="run", task="offline", window=None, split="test", alpha=2, seeds=[0],
        protocol=OFFICIAL, bootstrap=0, bootstrap_seed=None, realism_features=None,
        metrics={"FRDist": metric_entry(np.float32(1.25), direction="lower", version="1")},
        extra={}, per_seed=None,
        model={"spec": "m", "name": "m", "version": "1", "params": {"p": np.int64(3)},
               "citation": "", "reference": False, "class": None},
        dataset={"content_hash": "x", "n": N, "frames": T}, predictions=[], causality=None,
        device="cpu", timings={})
    assert rec["command"] is None and not edited(rec)
    back = read_result(write_result(rec, tmp_path / "m.json"))
    assert back["digest"] == rec["digest"] and not edited(back)


# ----------------------------------------------------------------------------- what is judged
def test_a_metric_edited_within_its_interval_is_flagged(tiny_dataset, tmp_path, cli,
                                                        predictions_file):
    path = _score(cli, tiny_dataset, predictions_file, tmp_path / "out", "--name", "mine")
    rec = read_result(path)
    low, high = rec["metrics"]["FRDist"]["ci"]
    edited_value = rec["metrics"]["FRDist"]["value"] - 0.25 * (rec["metrics"]["FRDist"]["value"]
                                                               - low)
    assert low < edited_value < high

    def lower(r):
        r["metrics"]["FRDist"]["value"] = edited_value
    _edit(path, lower)
    assert edited(read_result(path))
    out, err = _leaderboard(cli, path, "--format", "md")
    assert re.search(r"\n\| mine ‡ +\|", out), out
    assert (f"- ‡ edited: the scored content of {path} does not match the digest it was "
            "written with (changed after reactbench wrote it); its numbers are not what "
            "reactbench computed.") in out.replace("\\_", "_")
    assert err.strip() == (f"reactbench leaderboard: warning: {path}: {WARNING} (the file was "
                           "edited after reactbench wrote it); its row is marked ‡")
    for fmt, mark in (("latex", r"mine \textsuperscript{\ddag} &"), ("csv", "\nmine ‡,mine,"),
                      ("text", "\nmine ‡ ")):
        out, err = _leaderboard(cli, path, "--format", fmt)
        assert mark in out and WARNING in err, (fmt, out)


@pytest.mark.parametrize("change", [
    lambda r: r["metrics"]["FRCorr"].update(value=r["metrics"]["FRCorr"]["value"] * 10),
    lambda r: r["metrics"]["FRCorr"].update(ci=[0.0, 1.0]),
    lambda r: r["model"].update(name="someone_else"),
    lambda r: r.update(alpha=10),
    lambda r: r["predictions"][0].update(content_sha256="0" * 64),
    lambda r: r.update(command=["reactbench", "run", "--model", "gt"]),
], ids=["value", "ci", "model", "alpha", "predictions-hash", "command"])
def test_every_scored_field_is_covered(tiny_dataset, tmp_path, cli, predictions_file, change):
    path = _score(cli, tiny_dataset, predictions_file, tmp_path / "out")
    _edit(path, change)
    assert edited(read_result(path))


def test_when_and_where_it_ran_are_not_covered(tiny_dataset, tmp_path, cli, predictions_file):
    path = _score(cli, tiny_dataset, predictions_file, tmp_path / "out")

    def move(r):
        r["created"] = "2030-01-01T00:00:00+00:00"
        r["timings"] = {}
        r["software"]["git_commit"] = "f" * 40
        r["machine"]["platform"] = "elsewhere"
    _edit(path, move)
    assert not edited(read_result(path))
    out, err = _leaderboard(cli, path, "--format", "md")
    assert "‡" not in out and WARNING not in err


def test_records_without_a_digest_are_not_judged(tmp_path):
    rec = record("b_mime", values(2.5, 80.1, 0.0, 0.04, 0.12, 3.2, 0.0))
    assert "digest" not in rec and not edited(rec)
    assert "‡" not in render([rec], fmt="md")
    rec["schema"] = "reactbench.result/1"
    del rec["protocol_version"]
    assert not edited(validate_record(rec))


def test_a_malformed_digest_or_command_is_refused_naming_the_field(tmp_path):
    rec = record("m", values(1, 2, 3, 4, 5, 6, 7))
    rec["digest"] = record_digest(rec)
    validate_record(rec)
    for bad, field in ((dict(rec, digest="abc"), "field digest must be"),
                       (dict(rec, digest={**rec["digest"], "scheme": "other/2"}),
                        "field digest.scheme is 'other/2'"),
                       (dict(rec, command="reactbench run"), "field command must be"),
                       (dict(rec, predictions=[{"content_sha256": 5}]),
                        r"field predictions\[0\].content_sha256 must be text")):
        with pytest.raises(ResultsError, match=field):
            validate_record(bad, "x.json")


# ----------------------------------------------------------------------------- merged runs
def test_merged_runs_with_digests(tiny_dataset, tmp_path, cli, predictions_file):
    paths = [_score(cli, tiny_dataset, predictions_file, tmp_path / f"run{i}", "--name",
                    "mine", "--seed", str(i)) for i in range(2)]
    (row,) = merge_runs(read_results(paths))
    assert "digest" not in row and not edited(row)
    out, err = _leaderboard(cli, *paths, "--merge-runs", "--format", "md")
    assert re.search(r"\n\| mine +\|", out) and "‡" not in out and WARNING not in err

    def bump(r):
        r["metrics"]["FRCorr"]["value"] += 1e-9
    _edit(paths[1], bump)
    (row,) = merge_runs(read_results(paths))
    assert edited(row)
    assert [r["edited"] for r in row["runs"]] == [False, True]
    out, err = _leaderboard(cli, *paths, "--merge-runs", "--format", "md")
    assert re.search(r"\n\| mine ‡ +\|", out), out
    assert f"scored content of {paths[1]} does" in out.replace("\\_", "_")
    assert str(paths[0]) not in out.replace("\\_", "_").split("‡ edited:")[1].split("\n")[0]
    assert f"warning: {paths[1]}: {WARNING}" in err and str(paths[0]) not in err


# ----------------------------------------------------------------------------- a removed digest
@pytest.mark.parametrize("also", [(), ("command",)], ids=["digest", "digest-and-command"])
def test_a_removed_digest_is_flagged(tiny_dataset, tmp_path, cli, predictions_file, also):
    path = _score(cli, tiny_dataset, predictions_file, tmp_path / "out", "--name", "mine")
    assert written_with_digest(read_result(path)) and edit_finding(read_result(path)) is None

    def strip(r):
        for key in ("digest", *also):
            del r[key]
    _edit(path, strip)
    rec = read_result(path)
    assert edited(rec) and edit_finding(rec) == MISSING
    out, err = _leaderboard(cli, path, "--format", "md")
    assert re.search(r"\n\| mine ‡ +\|", out), out
    assert f"- ‡ edited: the scored content of {path} does" in out.replace("\\_", "_")
    assert err.strip() == (f"reactbench leaderboard: warning: {path}: {MISSING} (the file was "
                           "edited after reactbench wrote it); its row is marked ‡")


def test_older_forms_without_a_digest_render_as_before():
    rec = record("b_mime", values(2.5, 80.1, 0.0, 0.04, 0.12, 3.2, 0.0))
    assert rec["schema"] not in SCHEMAS_BEFORE_DIGEST and "command" not in rec
    assert not written_with_digest(rec) and edit_finding(rec) is None  # result/2, no command
    for form in (dict(rec, command=None),
                 dict(rec, predictions=[{"seed": 0, "path": "p.npz", "key": "k",
                                         "reused": False, "content_sha256": "0" * 64}])):
        assert written_with_digest(form) and edit_finding(form) == MISSING
        assert "‡" in render([form], fmt="md")
    old = dict(rec, schema=SCHEMA_V1, command=None)
    del old["protocol_version"]
    assert SCHEMA_V1 in SCHEMAS_BEFORE_DIGEST
    assert not edited(validate_record(old)) and "‡" not in render([old], fmt="md")


def test_merged_runs_with_a_removed_digest(tiny_dataset, tmp_path, cli, predictions_file):
    paths = [_score(cli, tiny_dataset, predictions_file, tmp_path / f"run{i}", "--name",
                    "mine", "--seed", str(i)) for i in range(2)]
    _edit(paths[0], lambda r: r.pop("digest"))
    (row,) = merge_runs(read_results(paths))
    assert [r["edited"] for r in row["runs"]] == [True, False] and edited(row)
    out, err = _leaderboard(cli, *paths, "--merge-runs", "--format", "md")
    assert re.search(r"\n\| mine ‡ +\|", out), out
    assert f"warning: {paths[0]}: {MISSING}" in err and str(paths[1]) not in err
