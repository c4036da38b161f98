"""Leaderboard tables: golden Markdown / LaTeX / CSV, grouping, refusals."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from reactbench.errors import ResultsError
from reactbench.results import write_result
from reactbench.tables import render

from .records import board, record, values

GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.mark.parametrize(("fmt", "ci", "golden"), [
    ("md", 0.0, "offline.md"),
    ("latex", 0.0, "offline.tex"),
    ("md", 0.05, "offline_ci.md"),
    ("latex", 0.05, "offline_ci.tex"),
])
def test_golden_tables(fmt, ci, golden):
    assert render(board(ci), fmt=fmt, table="offline") == (GOLDEN / golden).read_text()


def test_online_and_ablation_layouts():
    recs = board() + [record("b_mime", values(2.0, 81, 0, 0.04, 0.12, 3, 1), task="online")]
    online = render(recs, fmt="md", table="online")
    assert "B_Mime" in online and "GT" not in online and "Online results" in online
    abl = [record(n, values(1, 2, 3, 4, 5, 6, 7)) for n in ("reactdiff", "reactdiff-no-mmt",
                                                           "reactdiff-no-audio")]
    text = render(abl, fmt="md", table="ablation")
    assert "(w/o) MMT" in text and "(w/o) Audio" in text and "Ablation (offline)" in text


def test_csv_has_values_and_intervals():
    rows = list(csv.DictReader(io.StringIO(render(board(0.05), fmt="csv"))))
    assert [r["model"] for r in rows] == ["gt", "b_random", "b_mime", "my_model"]
    mime = rows[2]
    assert float(mime["FRDist"]) == pytest.approx(80.1234)
    assert float(mime["FRDist_ci_low"]) == pytest.approx(80.0734)
    assert mime["FRRea-feat"] and mime["reference"] == "0" and rows[0]["reference"] == "1"


@pytest.mark.parametrize(("change", "needle"), [
    ({"protocol": "corrected"}, "refusing to mix protocols"),
    ({"content_hash": "zzz"}, "refusing to mix datasets"),
    ({"alpha": 5}, "refusing to mix alpha values"),
])
def test_refuses_to_mix(change, needle):
    recs = board() + [record("other", values(1, 2, 3, 4, 5, 6, 7), **change)]
    with pytest.raises(ResultsError, match=needle):
        render(recs, fmt="md")


def test_duplicate_model_refused_and_empty_selection():
    with pytest.raises(ResultsError, match="two results for model 'b_mime'"):
        render(board() + [board()[0]], fmt="md")
    with pytest.raises(ResultsError, match="no online results among the files given"):
        render(board(), fmt="md", table="online")


def test_leaderboard_cli_reads_files_and_refuses_mixed_protocols(tmp_path, cli):
    for i, rec in enumerate(board()):
        write_result(rec, tmp_path / "a" / f"{i}.json")
    code, out, err = cli("leaderboard", tmp_path / "a", "--format", "md", "--table", "offline")
    assert code == 0, err
    assert out == (GOLDEN / "offline.md").read_text()
    code, out, _ = cli("leaderboard", tmp_path / "a", "--format", "latex", "--table", "offline",
                       "--output", tmp_path / "t.tex")
    assert code == 0 and (tmp_path / "t.tex").read_text() == (GOLDEN / "offline.tex").read_text()
    write_result(record("x", values(1, 2, 3, 4, 5, 6, 7), protocol="corrected"),
                 tmp_path / "b" / "x.json")
    code, out, err = cli("leaderboard", tmp_path / "a", tmp_path / "b" / "x.json")
    assert code == 2 and "refusing to mix protocols" in err and out == ""


def test_ties_everywhere_mark_nothing():
    recs = [record(n, values(1, 2, 3, 4, 5, 6, 49.0 if n != "b" else 40)) for n in "abc"]
    text = render(recs, fmt="md")
    assert text.count("**") == 2 * 2  # the caption and the one FRSyn winner
    assert "**40.00**" in text


def test_metric_versions_compared_on_shared_metrics_only():
    partial = record("partial", values(1, 2, 3, 4, 5, 6, 7))
    del partial["metrics"]["FRRea"]
    text = render(board() + [partial], fmt="md")
    assert "| partial " in text and text.split("| partial ")[1].split("\n")[0].count(" - ") == 1
    clash = record("clash", values(1, 2, 3, 4, 5, 6, 7))
    clash["metrics"]["FRDist"]["version"] = "2"
    with pytest.raises(ResultsError, match="refusing to mix metric versions.*FRDist version"):
        render(board() + [clash], fmt="md")


def test_seed_spread_shown_when_no_bootstrap():
    recs = board()
    for r in recs:
        r["seeds"] = [0, 1, 2]
        for e in r["metrics"].values():
            e["std"] = 0.25
    text = render(recs, fmt="md", table="offline")
    assert "2.500 ± 0.250" in text and "± = standard deviation over generation seeds." in text
    assert "seed(s) 0, 1, 2" in text


def test_leaderboard_output_never_replaces_a_file_without_force(tmp_path, cli):
    for i, rec in enumerate(board()):
        write_result(rec, tmp_path / "a" / f"{i}.json")
    other = write_result(record("x", values(1, 2, 3, 4, 5, 6, 7)), tmp_path / "other.json")
    code, _, err = cli("leaderboard", tmp_path / "a", "--output", other)
    assert code == 2 and "other.json already exists; not replaced (pass --force" in err
    result = tmp_path / "a" / "0.json"
    before = (result.read_bytes(), other.read_bytes())
    code, _, err = cli("leaderboard", tmp_path / "a", "--output", result, "--force")
    assert code == 2 and "is one of the result files read" in err
    assert (result.read_bytes(), other.read_bytes()) == before
    table = tmp_path / "t.md"
    table.write_text("old")
    code, _, err = cli("leaderboard", tmp_path / "a", "--output", table)
    assert code == 2 and str(table) in err and table.read_text() == "old"
    code, _, err = cli("leaderboard", tmp_path / "a", "--output", table, "--force")
    assert code == 0, err
    assert table.read_text() == (GOLDEN / "offline.md").read_text()


def test_leaderboard_output_directory_or_under_a_file(tmp_path, cli):
    write_result(board()[0], tmp_path / "a" / "0.json")
    (tmp_path / "afile").write_text("x")
    code, _, err = cli("leaderboard", tmp_path / "a", "--output", tmp_path, "--force")
    assert code == 2 and f"--output {tmp_path} is a directory" in err
    code, _, err = cli("leaderboard", tmp_path / "a", "--output", tmp_path / "afile" / "t.md")
    assert code == 2 and "afile is a file, not a directory" in err


def test_render_checks_records_built_in_memory():
    recs = board()
    recs[0]["metrics"]["FRCorr"]["ci"] = "x"
    with pytest.raises(ResultsError, match=r"field metrics\.FRCorr\.ci must be"):
        render(recs, fmt="md")


def test_rows_without_frrea_mix_with_any_feature_space():
    recs = board()
    for r in recs:
        r["realism_features"] = "emotion+3dmm"
    plain = record("no_3dmm", values(1, 2, 3, 4, 5, 6, 7))
    del plain["metrics"]["FRRea"]
    plain["realism_features"] = None
    text = render(recs + [plain], fmt="md")
    assert "| no_3dmm " in text and "reactbench features (emotion+3dmm)" in text
    other = record("emo", values(1, 2, 3, 4, 5, 6, 7))
    with pytest.raises(ResultsError, match="refusing to mix FRRea-feat feature spaces"):
        render(recs + [other], fmt="md")
