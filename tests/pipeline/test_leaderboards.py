"""The numbers the project publishes come from committed result files: the tables in
leaderboards/synthetic/ are what ``reactbench leaderboard`` renders from results/<task>/, and the
README tables and sentences quoting them match their files at the precision shown. Reads files
only (no model runs); a second or two."""

from __future__ import annotations

import csv
import difflib
import re

import pytest

from .doc_numbers import (
    ROOT,
    DocTable,
    MeanStd,
    Phrase,
    Runs,
    Source,
    phrase_problems,
    table_problems,
)

BOARD = "leaderboards/synthetic"
README, BOARD_README = "README.md", f"{BOARD}/README.md"
ORACLES, ORACLES_VAL = f"{BOARD}/analysis/oracles_test.json", f"{BOARD}/analysis/oracles_val.json"
DEVICE = f"{BOARD}/reactdiff_device_scores.json"

# leaderboards/regenerate.sh renders each task's table in these formats (format -> extension):
# reactbench leaderboard results/<task> --table <task> --format F --output <task>.<ext> --force
EXTENSIONS = {"md": "md", "latex": "tex", "csv": "csv"}
TASKS = ("offline", "online", "ablation")


@pytest.mark.parametrize("fmt", EXTENSIONS)
@pytest.mark.parametrize("task", TASKS)
def test_committed_table_is_the_render_of_committed_results(task, fmt, cli, tmp_path):
    # Compared byte for byte, nothing normalised: rendering reads no path, date or machine
    # field of a result (the caption names the generator, or only the dataset folder's name).
    committed = ROOT / BOARD / f"{task}.{EXTENSIONS[fmt]}"
    out = tmp_path / committed.name
    code, _, err = cli("leaderboard", ROOT / BOARD / "results" / task, "--table", task,
                       "--format", fmt, "--output", out)
    assert code == 0, err
    stored, rendered = committed.read_text(encoding="utf-8"), out.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(stored.splitlines(True), rendered.splitlines(True),
                                        f"{BOARD}/{committed.name} (committed)", "rendered"))
    assert stored == rendered, (
        f"{BOARD}/{committed.name} is not what `reactbench leaderboard {BOARD}/results/{task} "
        f"--table {task} --format {fmt}` renders; re-render it (leaderboards/regenerate.sh "
        f"keeps stored results):\n{diff}")


@pytest.mark.parametrize("fmt", EXTENSIONS)
def test_committed_seeds_table_is_the_merged_render_of_its_results(fmt, cli, tmp_path):
    # ablation_seeds.*: one row per variant, mean ± std over results/ablation_seeds/train-seed*
    committed = ROOT / BOARD / f"ablation_seeds.{EXTENSIONS[fmt]}"
    seeds = sorted((ROOT / BOARD / "results" / "ablation_seeds").glob("train-seed*"))
    assert len(seeds) == 3
    out = tmp_path / committed.name
    code, _, err = cli("leaderboard", *seeds, "--merge-runs", "--table", "ablation",
                       "--format", fmt, "--output", out)
    assert code == 0, err
    assert committed.read_text(encoding="utf-8") == out.read_text(encoding="utf-8"), (
        f"{BOARD}/{committed.name} is not the merged render of its results; re-render it "
        "(leaderboards/regenerate.sh)")


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
    """``name`` of ``model``'s rows (split, temperature) in reactdiff_device_scores.json's
    ``section`` ("rows": the top level), which must agree (a baseline may be scored twice)."""

    def get(data):
        rows = data["rows"] if section == "rows" else data[section]["rows"]
        (value,) = {r[name] for r in rows
                    if (r["model"], r["split"], r["temperature"]) == (model, split, temperature)}
        return value

    return Source(DEVICE, f"{section} row {model} {split} t={temperature} {name}", get)


def min_val_loss(file: str, stage: int = 1) -> Source:
    """The lowest val_loss of ``stage`` in a loss.csv."""
    return Source(file, f"min val_loss of stage {stage}",
                  lambda rows: min(float(r["val_loss"]) for r in rows
                                   if r["stage"] == str(stage) and r["val_loss"]))


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


def oracle(key: str, *names: str, file: str = ORACLES) -> tuple[Source, ...]:
    """Sources of scores.<key>.<name> in an oracles JSON, one per name."""
    return tuple(field(file, "scores", key, n) for n in names)


def oracle_row(key: str, *columns: str) -> dict[str, Source]:
    """{column: source} for a row of oracles_test.json's scores."""
    return dict(zip(columns, oracle(key, *columns)))


def rmse(key: str) -> Source:
    """rmse_to_class_mean.<key> in oracles_test.json."""
    return field(ORACLES, "rmse_to_class_mean", key)


def pair(file: str) -> tuple[Source, Source]:
    """FRCorr and FRDist of a result JSON."""
    return metric(file, "FRCorr"), metric(file, "FRDist")


ALL = ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRRea-feat", "FRSyn")
APPROPRIATE = ("FRCorr", "FRDist", "FRDiv")
ANALYSED = ("FRCorr", "FRDist", "FRDiv", "FRVar")
RMSE = "RMSE to class mean"
NO_VIDEO_LOSS = f"{BOARD}/analysis/no_video_cpu_loss.csv"
FULL_LOSS = "models/reactdiff/checkpoints/small_synthetic_loss.csv"


def seeds(*rows: tuple[str, str], name: str) -> Runs:
    """A ``min-max (mean m)`` cell over (section, model) rows of reactdiff_device_scores."""
    return Runs(tuple(device(section, model, name) for section, model in rows))


# row label -> result files, as each doc names its rows
OFFLINE_ROWS = {"GT": "gt", "B_Random": "b_random", "B_Mime": "b_mime",
                "B_MeanSeq": "b_meanseq", "B_MeanFr": "b_meanfr", "B_NN (retrieval)": "b_nn",
                "ReactDiff (shipped small checkpoint)": "reactdiff"}
ABLATION_ROWS = {"ReactDiff": "reactdiff", "ReactDiff (LRS)": "reactdiff-lrs",
                 "w/o MMT": "reactdiff-no-mmt", "w/o diffusion": "reactdiff-no-diffusion",
                 "w/o video": "reactdiff-no-video", "w/o audio": "reactdiff-no-audio"}
# README: three stage-2 training seeds, val split, temperature 0.15 (sessions 4 and 5; session
# 5's "about" names session 4's rd_s0..rd_s2, nomm and nv as the other seeds)
SEED_ROWS = {
    "ReactDiff": (("session_4", "rd_s0"), ("session_4", "rd_s1"), ("session_4", "rd_s2")),
    "w/o MMT": (("session_4", "nomm"), ("session_5", "nomm_s1"), ("session_5", "nomm_s2")),
    "w/o video": (("session_4", "nv"), ("session_5", "nv_s1"), ("session_5", "nv_s2")),
}
DDIM = f"{BOARD}/ddim_steps/reactdiff_{{}}_val_ddim{{}}.json"
# README and leaderboards README: the whole recipe over training seeds 0-2, test split
TRAIN_SEED_ROWS = {"ReactDiff": "reactdiff", "w/o MMT": "reactdiff-no-mmt",
                   "w/o video": "reactdiff-no-video"}


def over_seeds(model: str, *columns: str) -> dict[str, MeanStd]:
    """{column: mean ± std cell} over results/ablation_seeds/train-seed0..2/<model>."""
    files = [f"{BOARD}/results/ablation_seeds/train-seed{k}/{model}_offline_test_official_a10"
             "_s0.json" for k in range(3)]
    return {c: MeanStd(tuple(metric(f, c) for f in files)) for c in columns}


TRAIN_SEED_TABLE = {label: over_seeds(m, *APPROPRIATE) for label, m in TRAIN_SEED_ROWS.items()}

# Every row of these tables has a committed source; the one cell without (listed in
# `unsourced`) is the class mean's RMSE to itself. Not checked: README's speed-up table
# (timings, benchmarks/) and the tables that quote no metric (commands, files).
DOC_TABLES = {
    "readme-offline": DocTable(
        README, "Offline, default synthetic test split",
        {label: result(res("offline", m), *ALL) for label, m in OFFLINE_ROWS.items()}),
    "readme-ablation": DocTable(
        README, "Ablation on the synthetic test split",
        {label: result(res("ablation", m), *APPROPRIATE) for label, m in ABLATION_ROWS.items()}),
    "readme-ablation-seeds": DocTable(
        README, "sessions 4 and 5, temperature 0.15",
        {label: {c: seeds(*rows, name=c) for c in ("FRCorr", "FRDist")}
         for label, rows in SEED_ROWS.items()}),
    "readme-ablation-train-seeds": DocTable(
        README, "trained them all at once on one H200, about 9 min):", TRAIN_SEED_TABLE),
    "board-ablation-train-seeds": DocTable(
        BOARD_README, "## Three training seeds", TRAIN_SEED_TABLE),
    "board-ddim-steps": DocTable(
        BOARD_README, "## Fewer DDIM steps",
        {f"{task} / {steps}": result(DDIM.format(task, steps), *APPROPRIATE)
         for task in ("offline", "online") for steps in (20, 10)}, labels=2),
    "board-analysis": DocTable(
        BOARD_README, "## Why w/o video beats the full model here",
        {"class-specific: real training listeners of the speaker's true context (oracle)":
            {**oracle_row("class_specific", *ANALYSED), RMSE: rmse("class_specific")},
         "class mean: the mean of those listeners (oracle)":
            oracle_row("class_mean", *ANALYSED),
         "ReactDiff (shipped)":
            {**result(res("offline", "reactdiff"), *ANALYSED),
             RMSE: rmse("reactdiff")},
         "mean of ReactDiff's 10 reactions per speaker":
            oracle_row("reactdiff_sample_mean", *ANALYSED),
         "ReactDiff w/o video (ablation table; GPU-trained)":
            result(res("ablation", "reactdiff-no-video"), *ANALYSED),
         "ReactDiff w/o video (retrained on the CPU)":
            {**result(analysis("reactdiff-no-video"), *ANALYSED),
             RMSE: rmse("reactdiff-no-video")},
         "mean listener given the speaker's recent voicing (`audio_state_mean.py`)":
            {**result(analysis("audio_state_mean"), *ANALYSED),
             RMSE: rmse("audio_state_mean")},
         "B_MeanSeq": {**result(res("offline", "b_meanseq"), *ANALYSED),
                       RMSE: rmse("b_meanseq")}},
        # the class mean's distance to itself: 0 by definition, no entry in oracles_test.json
        unsourced=frozenset({("class mean: the mean of those listeners (oracle)", RMSE)})),
}


# Sentences quoting the same files. Not checked, for want of an unambiguous committed source:
# README "0.468 / 152.75" (w/o MMT with the earlier 64-wide UNet; that result was replaced),
# the ReactDiff section's development history ("105.0 -> 95.0", "0.383 -> 0.409",
# "0.409 -> 0.549", "0.47-0.49 ... 0.70-0.78", "0.770 / 93.56 to 0.768 / 93.70": runs and
# temperatures of reactdiff_device_scores.json the text does not name), "0.827 / 89.35" on the
# H200 (benchmarks/results, not leaderboards), and leaderboards/synthetic/README.md's latency
# numbers (benchmarks/results) and "about 0.05 FRCorr ... about 30 %" (derived).
PHRASES = (
    Phrase(README, "offline and online ({} / {},", pair(res("online", "reactdiff"))),
    Phrase(README, "it again beats the full model ({} / {})",
           pair(analysis("reactdiff-no-video"))),
    Phrase(README, "context score {} / {}; their mean scores {} / {}.",
           oracle("class_specific", "FRCorr", "FRDist")
           + oracle("class_mean", "FRCorr", "FRDist")),
    # the quoted losses are each file's lowest stage-1 val_loss (the full model's is also its last)
    Phrase(README, "(stage-1 validation loss {} vs {})",
           (min_val_loss(NO_VIDEO_LOSS), min_val_loss(FULL_LOSS))),
    Phrase(README, "than real reactions are (RMSE {} vs {})",
           (rmse("reactdiff-no-video"), rmse("class_specific"))),
    Phrase(README, "Their FRDist ({}-{}) beats the real reactions",
           (metric(res("ablation", "reactdiff-no-video"), "FRDist"),
            metric(analysis("reactdiff-no-video"), "FRDist"))),
    Phrase(README, "as far from the context mean as real ones do (RMSE {})",
           (rmse("reactdiff"),)),
    Phrase(BOARD_README, "above the naive baselines on val (B_MeanSeq {} / {})",
           (device("rows", "b_meanseq", "FRCorr", temperature=None),
            device("rows", "b_meanseq", "FRDist", temperature=None))),
    Phrase(BOARD_README, "best variant (test {} / {}, full model {} / {},",
           pair(res("ablation", "reactdiff-no-video")) + pair(res("ablation", "reactdiff"))),
    Phrase(BOARD_README, "same recipe, it scores {} / {} (temperature",
           pair(analysis("reactdiff-no-video"))),
    Phrase(BOARD_README, "FRDist {} vs {}, FRCorr {} vs {}.",
           oracle("class_mean", "FRDist") + oracle("class_specific", "FRDist")
           + oracle("class_mean", "FRCorr") + oracle("class_specific", "FRCorr")),
    Phrase(BOARD_README, "validation loss {} against {}",
           (min_val_loss(NO_VIDEO_LOSS), min_val_loss(FULL_LOSS))),
    Phrase(BOARD_README, "(FRVar {}-{} vs {})",
           (metric(analysis("reactdiff-no-video"), "FRVar"),
            metric(res("ablation", "reactdiff-no-video"), "FRVar"))
           + oracle("class_mean", "FRVar")),
    Phrase(BOARD_README, "closer to the class mean than real reactions do (RMSE {} vs {})",
           (rmse("reactdiff-no-video"), rmse("class_specific"))),
    Phrase(BOARD_README, "Their FRDist ({}-{}) beats the perfect-context real reactions ({})",
           (metric(res("ablation", "reactdiff-no-video"), "FRDist"),
            metric(analysis("reactdiff-no-video"), "FRDist"))
           + oracle("class_specific", "FRDist")),
    Phrase(BOARD_README, "as real reactions do (RMSE {})", (rmse("reactdiff"),)),
    Phrase(BOARD_README, "(FRVar {}) and gains little: {} / {}.",
           oracle("reactdiff_sample_mean", "FRVar", "FRCorr", "FRDist")),
    Phrase(BOARD_README, "class mean (RMSE {} and {})",
           (rmse("b_meanseq"), rmse("audio_state_mean"))),
    Phrase(BOARD_README, "class-specific {} / {}, class mean {} / {}",
           oracle("class_specific", "FRCorr", "FRDist", file=ORACLES_VAL)
           + oracle("class_mean", "FRCorr", "FRDist", file=ORACLES_VAL)),
)


@pytest.mark.parametrize("name", DOC_TABLES)
def test_doc_table_quotes_committed_results(name):
    spec = DOC_TABLES[name]
    problems = table_problems(spec, (ROOT / spec.doc).read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", (README, BOARD_README))
def test_doc_sentences_quote_committed_results(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    problems = [p for phrase in PHRASES if phrase.doc == doc
                for p in phrase_problems(phrase, text)]
    assert not problems, "\n".join(problems)


def test_readme_names_every_csv_column():
    # README's description of the leaderboard CSV: every fixed column and per-metric suffix
    with (ROOT / BOARD / "offline.csv").open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    first = header.index("FRCorr")
    names = header[:first] + sorted({c.removeprefix("FRCorr") for c in header[first:]
                                     if c.startswith("FRCorr_")})
    text = (ROOT / README).read_text(encoding="utf-8")
    found = re.search(r"\(the CSV has one row per model:(.*?)all regenerated", text, re.S)
    assert found, "README: the CSV description (the CSV has one row per model: ...) is gone"
    missing = [n for n in names if not re.search(rf"(?<![\w-]){re.escape(n)}\b", found[1])]
    assert not missing, f"README's CSV description does not name the columns {missing}"
