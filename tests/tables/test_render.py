"""Leaderboard tables: golden Markdown / LaTeX / CSV, grouping, refusals."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from reactbench.errors import ResultsError
from reactbench.results import validate_record, write_result
from reactbench.tables import render
from tests.helpers.records import board, record, values

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
    for rec, label in zip(abl, (None, "(w/o) MMT", "(w/o) Audio")):
        rec["model"].update(display=rec["model"]["name"], ablation_label=label)
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


def test_render_checks_records_built_in_memory():
    recs = board()
    recs[2]["metrics"]["FRCorr"]["ci"] = "x"
    with pytest.raises(ResultsError, match=r"^result record 3 of 4 \(model 'my_model'\): "
                                          r"field metrics\.FRCorr\.ci must be"):
        render(recs, fmt="md")
    with pytest.raises(ResultsError, match=r"^result record 2 of 2: a result file holds a "
                                          "JSON object; got list"):
        render([board()[0], []], fmt="md")


def test_records_read_from_files_are_checked_once(tmp_path, monkeypatch):
    from reactbench import results, tables
    from reactbench.results import io as result_io

    for i, rec in enumerate(board()):
        write_result(rec, tmp_path / f"{i}.json")
    checked = []

    def counting(record, source="result"):
        checked.append(source)
        return validate_record(record, source)

    monkeypatch.setattr(result_io, "validate_record", counting)
    monkeypatch.setattr(tables, "validate_record", counting)
    text = render(results.read_results([tmp_path]), fmt="md", table="offline")
    assert text == (GOLDEN / "offline.md").read_text()
    assert sorted(checked) == [str(tmp_path / f"{i}.json") for i in range(4)]


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


def _md_cells(line: str) -> list[str]:
    """A pipe-table row split on unescaped pipes (outer pipes dropped)."""
    import re

    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_escapes_model_names_and_keeps_columns():
    names = ["a|b", "*bold*", "_x_", "[l](u)", "<b>", "a\nb", "`c`", "$x$", "B_Mime2"]
    recs = [record(n, values(i, 2, 3, 4, 5, 6, 7)) for i, n in enumerate(names)]
    text = render(recs, fmt="md")
    body = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(body) == 1 + len(names)  # header + rows: no row broken by a name
    assert {len(_md_cells(line)) for line in body} == {8}
    cells = [_md_cells(line)[0].strip() for line in body[1:]]
    assert cells == [r"a\|b", r"\*bold\*", r"\_x\_", r"\[l\](u)", r"\<b\>", "a b", r"\`c\`",
                     r"\$x\$", "B_Mime2"]  # an underscore inside a word never starts emphasis


def test_latex_escapes_every_special_character():
    name = "a{b}$c^d~e&f%g_h#i\\j<k>|"
    text = render([record(name, values(1, 2, 3, 4, 5, 6, 7))], fmt="latex")
    row = next(line for line in text.splitlines() if line.startswith("a\\{"))
    assert row.split(" & ")[0] == (
        r"a\{b\}\$c\textasciicircum{}d\textasciitilde{}e\&f\%g\_h\#i\textbackslash{}j"
        r"\textless{}k\textgreater{}\textbar{}")


def _online(name: str, *, kind: str = "run", window: int = 50, checked: bool = True) -> dict:
    rec = record(name, values(1, 2, 3, 4, 5, 6, 7), task="online")
    rec["kind"], rec["window"] = kind, window
    rec["causality"] = {"passed": True, "windows_checked": [[0, 50]], "rows_checked": [0],
                        "detail": ""} if checked else None
    rec["_path"] = f"{name}.json"
    return rec


def test_causality_note_is_true_per_row():
    checked = render([_online("b_mime"), _online("b_nn")], fmt="md", table="online")
    assert "; causality verified by perturbing future frames." in checked and "†" not in checked
    mixed = render([_online("b_mime"), _online("sub", kind="score", checked=False)], fmt="md",
                   table="online")
    assert "| sub † " in mixed and "| B_Mime " in mixed and "B_Mime †" not in mixed
    assert "causality verified by perturbing future frames, except rows marked †" in mixed
    assert "scored from saved predictions" in mixed
    only = render([_online("sub", kind="score", checked=False)], fmt="md", table="online")
    assert "causality verified" not in only and "† causality not verified" in only
    tex = render([_online("b_mime"), _online("sub", kind="score", checked=False)],
                 fmt="latex", table="online")
    assert r"sub \textsuperscript{\dag} &" in tex and r"B\_Mime \textsuperscript" not in tex
    assert r"\footnotesize \textsuperscript{\dag} online causality not verified" in tex
    clean = render([_online("b_mime")], fmt="latex", table="online")
    assert r"\dag" not in clean and "footnotesize" not in clean


def test_csv_carries_window_and_causality():
    rows = list(csv.DictReader(io.StringIO(render(
        [_online("b_mime"), _online("sub", kind="score", checked=False)], fmt="csv",
        table="online"))))
    assert [(r["model"], r["window"], r["causality_checked"]) for r in rows] == [
        ("b_mime", "50", "1"), ("sub", "50", "0")]
    offline = list(csv.DictReader(io.StringIO(render(board(), fmt="csv"))))
    assert {(r["window"], r["causality_checked"]) for r in offline} == {("", "")}


def test_online_windows_must_match():
    recs = [_online("b_mime"), _online("sub", kind="score", checked=False, window=25)]
    with pytest.raises(ResultsError, match=r"refusing to mix online window lengths in one table: "
                       r"b_mime\.json has window 50 but sub\.json has window 25"):
        render(recs, fmt="md", table="online")
    offline = board()[0]  # offline rows have no window: an "all" table still renders
    assert "(50 frames)" in render([offline, _online("sub")], fmt="md")


def test_spread_note_names_each_kind_of_interval():
    boot = board(0.05)
    boot[3]["bootstrap"] = 1000
    seeds = record("seeded", values(1, 2, 3, 4, 5, 6, 7))
    seeds["seeds"] = [0, 1, 2]
    for e in seeds["metrics"].values():
        e["std"] = 0.25
    text = render(boot + [seeds], fmt="md", table="offline")
    note = next(line for line in text.splitlines() if "±" in line and line.startswith("- "))
    assert note == ("- ± differs by row: half-width of the 95% bootstrap interval over speakers "
                    "(B = 200) for GT, B_Mime, my_model; half-width of the 95% bootstrap "
                    "interval over speakers (B = 1000) for B_Random; standard deviation over "
                    "generation seeds for seeded.")


def test_dataset_clash_names_only_the_fields_that_differ_and_caption_shows_cut_clips():
    short = [dict(r, dataset=dict(r["dataset"], frames=250)) for r in board()]
    assert "first 250 frames per clip" in render(short, fmt="md")
    assert "frames per clip" not in render(board(), fmt="md")  # the default 750 is not shown
    with pytest.raises(ResultsError) as err:
        render([board()[0], short[1]], fmt="md")
    msg = str(err.value)
    assert "has dataset frames 750 but" in msg and "has frames 250" in msg
    assert "content_hash" not in msg  # equal fields are not printed
