"""Result files: schema, atomic never-overwriting writes, reading."""

from __future__ import annotations

import json

import pytest

from reactbench.errors import ResultsError
from reactbench.results import (
    REQUIRED_KEYS,
    SCHEMA_VERSION,
    read_result,
    read_results,
    result_filename,
    validate_record,
    write_result,
)

from .records import record, values


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
    assert rec["model"]["class"] == "baselines.b_random.BRandom"
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
