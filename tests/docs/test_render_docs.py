"""README.md and docs/ are what ``leaderboards/render_docs.py`` renders from leaderboards/ and
benchmarks/results/, and the generated tables quote their result files at the precision shown
(checked against an independent map of row -> file). Reads files only; a second or two."""

from __future__ import annotations

import csv
import difflib
import importlib.util
import json
import re

import pytest

from tests.docs.doc_numbers import ROOT, DocTable, MeanStd, Runs, Source, table_problems

BOARD = "leaderboards/synthetic"
README = "README.md"
REACTDIFF_DOC = "docs/reactdiff.md"
ORACLES = f"{BOARD}/analysis/oracles_test.json"
DEVICE = f"{BOARD}/reactdiff_device_scores.json"

_spec = importlib.util.spec_from_file_location("render_docs", ROOT / "leaderboards" /
                                               "render_docs.py")
render_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(render_docs)


# ----------------------------------------------------------------------------- generated docs
@pytest.mark.parametrize("doc", render_docs.DOCS)
def test_doc_is_the_render_of_committed_files(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    rendered = render_docs.render(text)
    diff = "".join(difflib.unified_diff(text.splitlines(True), rendered.splitlines(True),
                                        f"{doc} (committed)", "rendered"))
    assert text == rendered, (f"{doc} is stale: run `python leaderboards/render_docs.py`, "
                              f"never edit a generated part by hand\n{diff}")


def outside_generated(text: str) -> str:
    """``text`` without its generated parts and fenced code blocks."""
    text = render_docs.BLOCK.sub("", text)
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def test_readme_quotes_numbers_only_in_generated_parts():
    # a decimal number in README prose would be a figure no test ties to a file
    prose = outside_generated((ROOT / README).read_text(encoding="utf-8"))
    stray = re.findall(r".{0,30}(?<![\w.])\d+\.\d+(?![\w.]).{0,30}", prose)
    assert not stray, f"README quotes numbers outside generated parts: {stray}"


def test_every_block_is_rendered_exactly_once():
    used = [name for doc in render_docs.DOCS
            for name in render_docs.blocks_in((ROOT / doc).read_text(encoding="utf-8"))]
    assert sorted(used) == sorted(render_docs.BLOCKS), (
        f"unused: {sorted(set(render_docs.BLOCKS) - set(used))}; "
        f"repeated: {sorted({n for n in used if used.count(n) > 1})}")


def test_an_edited_number_and_an_unknown_block_are_caught():
    text = (ROOT / README).read_text(encoding="utf-8")
    edited = text.replace("| 87.44 |", "| 87.45 |", 1)
    assert edited != text and render_docs.render(edited) == text
    bad = f"{render_docs.MARK.format('no-such-block')}\nx\n{render_docs.END}\n"
    with pytest.raises(KeyError, match="no-such-block"):
        render_docs.render(bad)


def test_run_and_mean_std_cells():
    assert render_docs.runs_cell([0.7, 0.78, 0.76], 2) == "0.70-0.78 (mean 0.747)"
    # standard deviation with ddof 1, as --merge-runs
    assert render_docs.mean_std_cell([1.0, 2.0, 3.0], 3) == "2.000 ± 1.000"


def test_every_relative_link_of_the_docs_leads_to_a_file_of_the_repository():
    broken = []
    for doc in render_docs.DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)[^)]*\)", text):
            if "://" in target:
                continue
            path = ((ROOT / doc).parent / target).resolve()
            if not path.is_relative_to(ROOT) or not path.exists():
                broken.append(f"{doc}: {target}")
    assert not broken, broken


def test_readme_names_every_csv_column():
    # README's description of the leaderboard CSV: every fixed column and per-metric suffix
    with (ROOT / BOARD / "offline.csv").open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    first = header.index("FRCorr")
    names = header[:first] + sorted({c.removeprefix("FRCorr") for c in header[first:]
                                     if c.startswith("FRCorr_")})
    text = (ROOT / README).read_text(encoding="utf-8")
    found = re.search(r"The CSV tables have one row per model:(.*?)\n<!-- end generated", text,
                      re.S)
    assert found, "README: the CSV description (The CSV tables have one row per model: ...) is gone"
    missing = [n for n in names if not re.search(rf"(?<![\w-]){re.escape(n)}\b", found[1])]
    assert not missing, f"README's CSV description does not name the columns {missing}"


# ----------------------------------------------------------------------------- independent map
# Each generated metric table, checked cell by cell against the file an independent map names
# (so a generator that reads the wrong file or key fails too). Not mapped: the timing tables
# (their only source is the benchmark file the generator reads) and the per-seed cells of
# seed-runs (four numbers per cell).
def metric(file: str, name: str) -> Source:
    """Metric ``name``'s value in a result JSON."""
    return Source(file, f"metrics.{name}.value", lambda d: d["metrics"][name]["value"])


def field(file: str, *keys: str) -> Source:
    """The number at ``keys`` in a JSON file."""

    def get(data):
        for k in keys:
            data = data[k]
        return data

    return Source(file, ".".join(keys), get)


def device(section: str, model: str, name: str, split: str = "val",
           temperature: float | None = 0.15) -> Source:
    """``name`` of ``model``'s rows (split, temperature) in a section of
    reactdiff_device_scores.json, which must agree (a baseline may be scored twice)."""

    def get(data):
        (value,) = {r[name] for r in data[section]["rows"]
                    if (r["model"], r["split"], r["temperature"]) == (model, split, temperature)}
        return value

    return Source(DEVICE, f"{section} row {model} {split} t={temperature} {name}", get)


def result(file: str, *columns: str) -> dict[str, Source]:
    """{column: source} for a row of a result JSON (FRRea-feat reads FRRea)."""
    return {c: metric(file, c.removesuffix("-feat")) for c in columns}


def res(task: str, model: str) -> str:
    """A committed result JSON of results/<task>/ (the ablation runs are offline runs)."""
    run = "offline" if task == "ablation" else task
    return f"{BOARD}/results/{task}/{model}_{run}_test_official_a10_s0.json"


def analysis(model: str) -> str:
    """A committed result JSON of analysis/results/."""
    return f"{BOARD}/analysis/results/{model}_offline_test_official_a10_s0.json"


def oracle_row(key: str, *columns: str) -> dict[str, Source]:
    """{column: source} for a row of oracles_test.json's scores."""
    return {c: field(ORACLES, "scores", key, c) for c in columns}


def rmse(key: str) -> Source:
    """rmse_to_class_mean.<key> in oracles_test.json."""
    return field(ORACLES, "rmse_to_class_mean", key)


ALL = ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRRea-feat", "FRSyn")
APPROPRIATE = ("FRCorr", "FRDist", "FRDiv")
ANALYSED = ("FRCorr", "FRDist", "FRDiv", "FRVar")
RMSE = "RMSE to class mean"

# row label -> result files, as the committed leaderboard tables name their rows
OFFLINE_ROWS = {"GT": "gt", "B_Random": "b_random", "B_Mime": "b_mime",
                "B_MeanSeq": "b_meanseq", "B_MeanFr": "b_meanfr", "B_NN (retrieval)": "b_nn",
                "ReactDiff": "reactdiff"}
ABLATION_ROWS = {"ReactDiff": "reactdiff", "ReactDiff (LRS)": "reactdiff-lrs",
                 "(w/o) MMT": "reactdiff-no-mmt", "(w/o) Diffusion": "reactdiff-no-diffusion",
                 "(w/o) Video": "reactdiff-no-video", "(w/o) Audio": "reactdiff-no-audio"}
TRAIN_SEED_ROWS = {"ReactDiff": "reactdiff", "(w/o) MMT": "reactdiff-no-mmt",
                   "(w/o) Video": "reactdiff-no-video"}
# three stage-2 training seeds on val, temperature 0.15: stage2_search holds seed 0 of each
# variant and the full model's seeds 1 and 2; stage2_seeds the variants' seeds 1 and 2
VAL_SEED_ROWS = {
    "ReactDiff": (("stage2_search", "rd_s0"), ("stage2_search", "rd_s1"),
                  ("stage2_search", "rd_s2")),
    "w/o MMT": (("stage2_search", "nomm"), ("stage2_seeds", "nomm_s1"),
                ("stage2_seeds", "nomm_s2")),
    "w/o video": (("stage2_search", "nv"), ("stage2_seeds", "nv_s1"), ("stage2_seeds", "nv_s2")),
}
SAMPLERS = sorted((ROOT / BOARD / "sampler").glob("reactdiff_offline_val_*.json"))


def sampler_label(path) -> str:
    """"solver / steps" of a sweep file, as the table's label columns read."""
    params = json.loads(path.read_text())["model"]["params"]
    steps = params.get("timesteps")
    text = ",".join(map(str, steps)) if steps else f"{params['ddim_steps']} evenly spaced"
    return f"{params.get('solver', 'ddim')} / {text}"


def over_seeds(model: str, *columns: str) -> dict[str, MeanStd]:
    """{column: mean ± std cell} over results/ablation_seeds/train-seed0..2/<model>."""
    files = [f"{BOARD}/results/ablation_seeds/train-seed{k}/{model}_offline_test_official_a10"
             "_s0.json" for k in range(3)]
    return {c: MeanStd(tuple(metric(f, c.removesuffix("-feat")) for f in files))
            for c in columns}


def block(doc: str, name: str) -> str:
    """The anchor of generated part ``name`` (its marker line)."""
    return render_docs.MARK.format(name)


DOC_TABLES = {
    "readme-offline": DocTable(
        README, block(README, "offline"),
        {label: result(res("offline", m), *ALL) for label, m in OFFLINE_ROWS.items()}),
    "readme-ablation": DocTable(
        README, block(README, "ablation"),
        {label: result(res("ablation", m), *APPROPRIATE) for label, m in ABLATION_ROWS.items()}),
    "reactdiff-ablation": DocTable(
        REACTDIFF_DOC, block(REACTDIFF_DOC, "ablation-full"),
        {label: result(res("ablation", m), *ALL) for label, m in ABLATION_ROWS.items()}),
    "reactdiff-ablation-train-seeds": DocTable(
        REACTDIFF_DOC, block(REACTDIFF_DOC, "ablation-seeds-full"),
        {label: over_seeds(m, *ALL) for label, m in TRAIN_SEED_ROWS.items()}),
    "reactdiff-val-seeds": DocTable(
        REACTDIFF_DOC, block(REACTDIFF_DOC, "val-seeds"),
        {label: {c: Runs(tuple(device(s, m, c) for s, m in rows)) for c in ("FRCorr", "FRDist")}
         for label, rows in VAL_SEED_ROWS.items()}),
    "reactdiff-samplers": DocTable(
        REACTDIFF_DOC, block(REACTDIFF_DOC, "samplers"),
        {sampler_label(p): {**result(str(p.relative_to(ROOT)), *APPROPRIATE),
                            "evaluations": field(str(p.relative_to(ROOT)), "model", "params",
                                                 "ddim_steps")} for p in SAMPLERS},
        labels=2),
    "reactdiff-oracles": DocTable(
        REACTDIFF_DOC, block(REACTDIFF_DOC, "oracles"),
        {"class-specific: real training listeners of the speaker's true context (oracle)":
            {**oracle_row("class_specific", *ANALYSED), RMSE: rmse("class_specific")},
         "class mean: the mean of those listeners (oracle)":
            oracle_row("class_mean", *ANALYSED),
         "ReactDiff (shipped)":
            {**result(res("offline", "reactdiff"), *ANALYSED), RMSE: rmse("reactdiff")},
         "mean of ReactDiff's 10 reactions per speaker":
            oracle_row("reactdiff_sample_mean", *ANALYSED),
         "w/o video (ablation table; GPU-trained)":
            result(res("ablation", "reactdiff-no-video"), *ANALYSED),
         "w/o video (retrained on the CPU)":
            {**result(analysis("reactdiff-no-video"), *ANALYSED),
             RMSE: rmse("reactdiff-no-video")},
         "mean listener given the speaker's recent voicing (`audio_state_mean.py`)":
            {**result(analysis("audio_state_mean"), *ANALYSED), RMSE: rmse("audio_state_mean")},
         "B_MeanSeq": {**result(res("offline", "b_meanseq"), *ANALYSED),
                       RMSE: rmse("b_meanseq")}},
        # the class mean's distance to itself: 0 by definition, no entry in oracles_test.json
        unsourced=frozenset({("class mean: the mean of those listeners (oracle)", RMSE)})),
}


@pytest.mark.parametrize("name", DOC_TABLES)
def test_doc_table_quotes_committed_results(name):
    spec = DOC_TABLES[name]
    problems = table_problems(spec, (ROOT / spec.doc).read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)
