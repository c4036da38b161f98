"""Result files: schema and field types, atomic never-overwriting writes, reading."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from reactbench.errors import ResultsError
from reactbench.results import (
    REQUIRED_KEYS,
    SCHEMA_VERSION,
    check_results_dir,
    read_result,
    read_results,
    result_filename,
    result_files,
    validate_record,
    write_result,
)
from tests.helpers.records import record, values


def test_schema_of_a_real_run(tiny_dataset, tmp_path, cli):
    code, _, err = cli("run", "--model", "b_random", "--data", tiny_dataset, "--samples", "2",
                       "--out", tmp_path, "--no-progress", "--jobs", "1")
    assert code == 0, err
    (path,) = tmp_path.glob("*.json")
    assert path.name == "b_random_offline_test_official_a2_s0.json"
    rec = json.loads(path.read_text())
    assert rec["schema"] == SCHEMA_VERSION
    assert set(REQUIRED_KEYS) <= set(rec)
    for entry in rec["metrics"].values():
        assert set(entry) == {"value", "ci", "direction", "version", "std"}
        assert entry["direction"] in ("higher", "lower")
    assert rec["software"]["reactbench"] and "numpy" in rec["software"]
    assert "git_commit" in rec["software"]
    assert rec["machine"]["device"] == "cpu" and rec["machine"]["cpu_count"]
    assert {"load", "fit", "generate", "score", "metrics", "total"} <= set(rec["timings"])
    assert rec["model"]["class"] == "reactbench.baselines.b_random.BRandom"
    assert rec["dataset"]["generator"]["version"]
    assert rec["predictions"][0]["key"] and rec["predictions"][0]["path"].endswith(".npz")
    assert validate_record(read_result(path))


def test_write_never_overwrites_and_leaves_no_temp_files(tmp_path):
    rec = record("m", values(1, 2, 3, 4, 5, 6, 7))
    path = write_result(rec, tmp_path / result_filename(rec))
    assert path.name == "m_offline_test_official_a10_s0.json"
    before = path.read_text()
    with pytest.raises(ResultsError, match="already holds a result"):
        write_result(record("m", values(9, 9, 9, 9, 9, 9, 9)), path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_invalid_records_are_refused_before_writing(tmp_path):
    rec = record("m", values(1, 2, 3, 4, 5, 6, 7))
    del rec["dataset"]
    with pytest.raises(ResultsError, match=r"lacks key\(s\) \['dataset'\]"):
        write_result(rec, tmp_path / "x.json")
    rec = record("m", values(float("nan"), 2, 3, 4, 5, 6, 7))
    with pytest.raises(ValueError):
        write_result(rec, tmp_path / "y.json")
    assert not list(tmp_path.iterdir())


def test_reading_bad_files(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(ResultsError, match="not a readable JSON result file"):
        read_result(tmp_path / "a.json")
    (tmp_path / "b.json").write_text(json.dumps({"schema": "other/9"}))
    with pytest.raises(ResultsError, match="unsupported result schema 'other/9'"):
        read_result(tmp_path / "b.json")
    with pytest.raises(ResultsError, match="does not exist"):
        read_result(tmp_path / "none.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsError, match="holds no result"):
        read_results([tmp_path / "empty"])
    good = tmp_path / "dir" / "m.json"
    write_result(record("m", values(1, 2, 3, 4, 5, 6, 7)), good)
    assert result_files([good, tmp_path / "dir", tmp_path / "dir" / ".." / "dir"]) == [good]
    os.mkfifo(tmp_path / "fifo.json")  # reading it would block forever
    with pytest.raises(ResultsError, match="fifo.json: not a regular file"):
        read_result(tmp_path / "fifo.json")


@pytest.mark.parametrize(("key", "value", "needle"), [
    ("alpha", 0, "alpha must be a positive integer"),
    ("seeds", "0", "seeds must be a list of integers"),
    ("task", "both", "task 'both' is not one of"),
    ("kind", "other", "kind 'other' is not one of"),
    ("protocol", "", "protocol must be a non-empty string"),
])
def test_field_types_are_checked(key, value, needle):
    rec = record("m", values(1, 2, 3, 4, 5, 6, 7))
    rec[key] = value
    with pytest.raises(ResultsError, match=needle):
        validate_record(rec)
    rec = record("m", values(1, 2, 3, 4, 5, 6, 7))
    rec["metrics"]["FRCorr"]["direction"] = "up"
    with pytest.raises(ResultsError, match="direction 'up'"):
        validate_record(rec)


@pytest.mark.parametrize(("change", "needle"), [
    (lambda r: r["metrics"]["FRCorr"].update(value="abc"),
     r"field metrics\.FRCorr\.value must be a finite number.*got 'abc'"),
    (lambda r: r["metrics"]["FRCorr"].update(value=float("nan")),
     r"field metrics\.FRCorr\.value must be a finite number.*got nan"),
    (lambda r: r["metrics"]["FRDist"].update(value=True), r"FRDist\.value must be a finite"),
    (lambda r: r["metrics"]["FRCorr"].update(ci="x"), r"field metrics\.FRCorr\.ci must be"),
    (lambda r: r["metrics"]["FRCorr"].update(ci=[1.0]), r"FRCorr\.ci must be \[low, high\]"),
    (lambda r: r["metrics"]["FRCorr"].update(ci=[2.0, 1.0]), r"low <= high"),
    (lambda r: r["metrics"]["FRCorr"].update(std="0.1"), r"FRCorr\.std must be"),
    (lambda r: r["metrics"]["FRCorr"].update(version=1), r"FRCorr\.version must be text"),
    (lambda r: r["model"].update(name=None), r"field model\.name must be a non-empty string"),
    (lambda r: r["model"].update(name=""), r"field model\.name must be a non-empty string"),
    (lambda r: r["model"].update(reference="yes"), r"field model\.reference must be true"),
    (lambda r: r["model"].update(params=[]), r"field model\.params must be an object"),
    (lambda r: r.update(window="50"), r"field window must be a positive integer"),
    (lambda r: r.update(bootstrap=-1), r"field bootstrap must be an integer >= 0"),
    (lambda r: r.update(realism_features=3), r"realism_features must be a non-empty"),
    (lambda r: r.update(realism_features=None), r"realism_features is null but metrics hold"),
    (lambda r: r.update(seeds=[True]), r"seeds must be a list of integers"),
    (lambda r: r.update(seeds=[]), r"seeds of a run must be one or more distinct integers"),
    (lambda r: r.update(seeds=[0, 0]), r"seeds of a run must be one or more distinct"),
    (lambda r: r.update(task="online", window=None), r"field window must be the online window"),
    (lambda r: r["dataset"].update(frames="x"), r"field dataset\.frames must be a positive"),
    (lambda r: r["dataset"].update(frames=0), r"field dataset\.frames must be a positive"),
    (lambda r: r["dataset"].update(generator="synth-2"), r"field dataset\.generator must be"),
    (lambda r: r.update(causality="yes"), r"field causality must be an object"),
    (lambda r: r.update(predictions=[{"path": 3}]), r"field predictions\[0\]\.path must be"),
])
def test_field_values_the_tables_use_are_checked(tmp_path, change, needle):
    rec = record("m", values(1, 2, 3, 4, 5, 6, 7))
    change(rec)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(rec))  # json writes NaN as a bare NaN token, as found in files
    with pytest.raises(ResultsError, match=r"bad\.json: .*" + needle):
        read_result(path)


def test_null_metric_value_means_not_computed():
    rec = record("m", values(1, 2, 3, 4, 5, 6, 7))
    rec["metrics"]["FRCorr"]["value"] = None
    assert validate_record(rec) is rec


def test_non_utf8_result_file_is_a_clear_error(tmp_path):
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ResultsError, match=r"bin\.json: not a readable JSON result file \(not "
                       "UTF-8 text"):
        read_result(tmp_path / "bin.json")


def test_nan_params_name_the_field_before_anything_is_written(tmp_path):
    rec = record("m", values(1, 2, 3, 4, 5, 6, 7))
    rec["model"]["params"] = {"steps": 10, "guidance": {"scale": float("nan")}}
    with pytest.raises(ResultsError, match=r"field model\.params\.guidance\.scale is nan"):
        write_result(rec, tmp_path / "x.json")
    rec["model"]["params"] = {"fn": object()}
    with pytest.raises(ResultsError, match=r"model\.params\.fn holds .* not a JSON value"):
        write_result(rec, tmp_path / "x.json")
    assert not list(tmp_path.iterdir())


def test_numpy_and_path_params_are_stored_as_plain_values(tmp_path):
    rec = record("m", values(1, 2, 3, 4, 5, 6, 7))
    rec["model"]["params"] = {"lr": np.float32(0.5), "ckpt": Path("/m.pt"), "w": np.arange(2)}
    path = write_result(rec, tmp_path / "x.json")
    assert read_result(path)["model"]["params"] == {"lr": 0.5, "ckpt": "/m.pt", "w": [0, 1]}


def test_results_dir_that_is_a_file_is_refused_up_front(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ResultsError, match=r"results directory .*afile is an existing file"):
        check_results_dir(tmp_path / "afile")
    with pytest.raises(ResultsError, match=r"cannot be created: .*afile is a file"):
        check_results_dir(tmp_path / "afile" / "runs")
    assert check_results_dir(tmp_path / "new" / "runs") == tmp_path / "new" / "runs"
    assert not (tmp_path / "new").exists()  # the check creates nothing
    rec = record("m", values(1, 2, 3, 4, 5, 6, 7))
    with pytest.raises(ResultsError, match=r"afile is an existing file"):
        write_result(rec, tmp_path / "afile" / "m.json")
    (tmp_path / "d.json").mkdir()
    with pytest.raises(ResultsError, match=r"d\.json is a directory"):
        write_result(rec, tmp_path / "d.json")
    assert (tmp_path / "afile").read_text() == "x"


def test_long_model_names_get_short_distinct_deterministic_file_names(tmp_path):
    long_a, long_b = "m" * 300 + "a", "m" * 300 + "b"
    rec_a = record(long_a, values(1, 2, 3, 4, 5, 6, 7))
    rec_b = record(long_b, values(1, 2, 3, 4, 5, 6, 7))
    name_a = result_filename(rec_a)
    assert len(name_a) < 150 and name_a == result_filename(rec_a)
    assert name_a != result_filename(rec_b)
    assert name_a.endswith("_offline_test_official_a10_s0.json")
    path = write_result(rec_a, tmp_path / name_a)
    assert read_result(path)["model"]["name"] == long_a  # the full name stays in the file
    assert result_filename(record("m", values(1, 2, 3, 4, 5, 6, 7))) == \
        "m_offline_test_official_a10_s0.json"  # short names unchanged


def test_a_file_name_too_long_for_the_file_system_is_a_clear_error(tmp_path):
    with pytest.raises(ResultsError, match=r"result file name x{40}\.\.\. is 305 bytes long; "
                       r"the file system allows at most \d+"):
        write_result(record("m", values(1, 2, 3, 4, 5, 6, 7)), tmp_path / ("x" * 300 + ".json"))
    assert not list(tmp_path.iterdir())


def test_bootstrap_seed_is_optional_and_checked():
    rec = record("m", values(1, 2, 3, 4, 5, 6, 7))
    assert "bootstrap_seed" not in rec and validate_record(rec) is rec  # older files
    rec["bootstrap_seed"] = 7
    assert validate_record(rec) is rec
    rec["bootstrap_seed"] = "7"
    with pytest.raises(ResultsError, match=r"field bootstrap_seed must be an integer or null; "
                       "got '7'"):
        validate_record(rec)


def test_trained_on_is_optional_and_checked():
    rec = record("m", values(1, 2, 3, 4, 5, 6, 7))
    assert "trained_on" not in rec["model"] and validate_record(rec) is rec  # older files
    rec["model"]["trained_on"] = {"train": {"split": "train", "content_hash": "abc"}}
    assert validate_record(rec) is rec
    rec["model"]["trained_on"] = "train"
    with pytest.raises(ResultsError, match="field model.trained_on must be an object"):
        validate_record(rec)


@pytest.mark.parametrize("command", ["run", "score"])
def test_out_naming_a_file_is_refused_before_any_work(tiny_dataset, tmp_path, cli, command):
    out = tmp_path / "afile"
    out.write_text("not a directory")
    args = [command, "--data", str(tiny_dataset), "--out", str(out), "--jobs", "1"]
    args += ["--model", "b_mime"] if command == "run" else ["--predictions", str(tmp_path)]
    code, _, err = cli(*args)
    assert code == 2 and f"results directory {out} is an existing file" in err, err
    assert out.read_text() == "not a directory"
