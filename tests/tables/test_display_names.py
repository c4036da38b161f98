"""Model display names: ModelInfo -> the result record's ``model`` entry -> table row labels and
order; result files that record none render as before."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from reactbench import registry
from reactbench.errors import ModelError, ResultsError
from reactbench.merge import merge_runs
from reactbench.models import ModelInfo, display_fields, model_info
from reactbench.results import read_result, validate_record
from reactbench.tables import render, row_style
from tests.helpers.runs import PLUGINS

BOARD = Path(__file__).resolve().parents[2] / "leaderboards" / "synthetic"
REACTDIFF_NAMES = ("reactdiff", "reactdiff-lrs", "reactdiff-no-mmt", "reactdiff-no-diffusion",
                   "reactdiff-no-video", "reactdiff-no-audio")


def _infos() -> dict[str, ModelInfo]:
    """What each shipped model writes: the baselines' ModelInfo, ReactDiff's class fields."""
    from reactbench.reactdiff.plugin import VARIANT_CLASSES

    infos = {n: registry.create_model(n).info for n in registry.BASELINES}
    for name in REACTDIFF_NAMES:
        cls = VARIANT_CLASSES[name]
        infos[name] = ModelInfo(name=name, display=cls.display,
                                ablation_label=cls.ablation_label, table_order=cls.table_order)
    return infos


def _with_fields(records: list[dict]) -> list[dict]:
    """``records`` as a run today writes them: with the model's display fields."""
    infos = _infos()
    out = copy.deepcopy(records)
    for r in out:
        r["model"].update(display_fields(infos[r["model"]["name"]]))
        r.pop("_path", None)
    return out


def test_committed_result_files_carry_what_the_shipped_models_write():
    infos = _infos()
    files = [f for f in sorted(BOARD.rglob("*.json"))
             if '"schema": "reactbench.result/' in f.read_text()]
    seen = set()
    for f in files:
        rec = read_result(f)
        name = rec["model"]["name"]
        if name in infos:
            seen.add(name)
            fields = display_fields(infos[name])
            assert {k: rec["model"].get(k) for k in fields} == fields, f
    assert seen == set(infos)


def test_a_record_without_display_fields_shows_its_model_name_last():
    assert row_style({"model": {"name": "team_model"}}) == ("team_model", None, None)


def test_reactdiff_variant_instances_carry_their_display_names():
    from reactbench.reactdiff.plugin import ReactDiffNoMMT

    info = ReactDiffNoMMT(check_data="false").info
    assert (info.display, info.ablation_label, info.table_order) == (
        "ReactDiff (w/o MMT)", "(w/o) MMT", 12)


@pytest.mark.parametrize("task", ["offline", "online", "ablation"])
@pytest.mark.parametrize("fmt", ["md", "latex", "csv"])
def test_committed_tables_render_alike_with_display_fields(task, fmt):
    """A regenerated leaderboard (files with display fields) equals the committed table."""
    records = [read_result(p) for p in sorted((BOARD / "results" / task).glob("*.json"))]
    ext = "tex" if fmt == "latex" else fmt
    committed = (BOARD / f"{task}.{ext}").read_text()
    assert render(records, fmt, task) == committed  # files without the fields
    assert render(_with_fields(records), fmt, task) == committed


def test_merged_ablation_renders_alike_with_display_fields():
    runs = [read_result(p) for p in sorted((BOARD / "results" / "ablation_seeds").glob("*/*.json"))]
    committed = (BOARD / "ablation_seeds.md").read_text()
    assert render(merge_runs(runs), "md", "ablation") == committed
    new = _with_fields(runs)
    for r, old in zip(new, runs):  # the new package spelling of each class
        r["model"]["class"] = "reactbench." + old["model"]["class"].removeprefix("models.")
        r["_path"] = old["_path"]
    mixed = [*runs[:3], *new[3:]]  # files written before and after the package move
    assert render(merge_runs(mixed), "md", "ablation") == committed


def test_labels_and_order_come_from_the_record():
    records = [read_result(p) for p in
               sorted((BOARD / "results" / "offline").glob("*.json"))]
    team = copy.deepcopy(next(r for r in records if r["model"]["name"] == "b_mime"))
    team["model"].update(name="team", spec="team.py:Team", display="Team *model*",
                         ablation_label=None, table_order=-1)
    team.pop("_path")
    text = render([*records, team], "md", "offline")
    rows = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")]
    assert rows[1:4] == ["GT", r"Team \*model\*", "B_Random"]  # the reference row stays first
    unordered = copy.deepcopy(team)
    unordered["model"].update(name="zeta", display="Zeta", table_order=None)
    legacy = copy.deepcopy(team)
    legacy["model"] = {k: v for k, v in legacy["model"].items()
                       if k not in ("display", "ablation_label", "table_order")}
    legacy["model"].update(name="alpha")
    text = render([unordered, *records, legacy], "csv", "offline")
    names = [line.split(",")[0] for line in text.splitlines()[1:]]
    assert names[-3:] == ["ReactDiff", "Zeta", "alpha"]  # unordered rows last, as given


def test_result_validation_checks_the_display_fields():
    rec = read_result(BOARD / "results" / "offline" / "b_mime_offline_test_official_a10_s0.json")
    rec.pop("_path")
    validate_record({**rec, "model": {**rec["model"], "display": "B_Mime",
                                      "ablation_label": None, "table_order": 2}}, "ok")
    for key, bad in (("display", ""), ("display", 3), ("ablation_label", 1),
                     ("table_order", "2"), ("table_order", True)):
        with pytest.raises(ResultsError, match=f"field model.{key} must be"):
            validate_record({**rec, "model": {**rec["model"], key: bad}}, "bad")


def test_model_info_checks_the_display_fields():
    class Model:
        def __init__(self, **kw):
            self.info = ModelInfo(name="m", **kw)

    assert display_fields(model_info(Model())) == {"display": "m", "ablation_label": None,
                                                   "table_order": None}
    for kw, what in (({"display": 3}, "display"), ({"ablation_label": None}, "ablation_label"),
                     ({"table_order": "1"}, "table_order"), ({"table_order": True},
                                                               "table_order")):
        with pytest.raises(ModelError, match=f"ModelInfo.{what} must be"):
            model_info(Model(**kw))


def test_run_records_carry_display_names(tiny_dataset, tmp_path, cli):
    out = tmp_path / "out"
    code, _, err = cli("run", "--data", tiny_dataset, "--samples", "2", "--out", out,
                       "--no-progress", "--jobs", "1", "--metrics", "FRDiv",
                       "--model", f"b_mime,{PLUGINS}:WithOptions")
    assert code == 0, err
    recs = {r["model"]["name"]: r for r in map(read_result, sorted(out.glob("*.json")))}
    assert recs["b_mime"]["model"]["display"] == "B_Mime"
    assert recs["b_mime"]["model"]["table_order"] == 2
    assert recs["with_options"]["model"]["display"] == "with_options"
    assert recs["with_options"]["model"]["table_order"] is None
    assert json.loads(json.dumps(recs["b_mime"]["model"]))["ablation_label"] is None
