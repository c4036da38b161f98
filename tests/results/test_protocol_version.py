"""Result records name the protocol they were scored under and its version; files of the first
schema (no protocol_version) read as version "1"; tables and merged rows never mix versions."""

from __future__ import annotations

import json

import pytest

from reactbench.errors import ResultsError
from reactbench.merge import merge_runs
from reactbench.protocols import record_protocol
from reactbench.results import SCHEMA_V1, SCHEMA_VERSION, read_result, validate_record
from reactbench.tables import render
from tests.helpers.records import board, record, values


def test_new_records_carry_the_protocol_version():
    rec = record("m", values(1, 2, 3, 4, 5, 6, 7))
    assert rec["schema"] == SCHEMA_VERSION == "reactbench.result/2"
    assert record_protocol(validate_record(rec)) == ("official", "1")
    del rec["protocol_version"]
    with pytest.raises(ResultsError, match=r"lacks key\(s\) \['protocol_version'\]"):
        validate_record(rec)
    rec["protocol_version"] = ""
    with pytest.raises(ResultsError, match="protocol_version must be a non-empty string"):
        validate_record(rec)


def test_first_schema_files_are_read_as_protocol_version_1(tmp_path):
    rec = record("m", values(1, 2, 3, 4, 5, 6, 7))
    rec["schema"] = SCHEMA_V1
    del rec["protocol_version"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(rec))
    assert record_protocol(read_result(path)) == ("official", "1")


def test_tables_and_merged_rows_refuse_two_protocol_versions():
    recs = board()
    recs[1]["protocol_version"] = "2"
    with pytest.raises(ResultsError, match="refusing to mix protocol versions in one table"):
        render(recs, fmt="md")
    runs = [record("m", values(1, 2, 3, 4, 5, 6, 7)), record("m", values(2, 2, 3, 4, 5, 6, 7))]
    runs[1]["protocol_version"] = "2"
    with pytest.raises(ResultsError, match="their protocol version differ"):
        merge_runs(runs)
