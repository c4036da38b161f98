"""The committed tables in leaderboards/synthetic/ are what ``reactbench leaderboard`` renders from
their result files (results/<task>/, and the merged training seeds). Reads files only."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOARD = "leaderboards/synthetic"


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


# leaderboards/synthetic-mars/: PROTOCOL=react2025 (and react2026) leaderboards/regenerate.sh
MARS_BOARDS = {"leaderboards/synthetic-mars": "react2025",
               "leaderboards/synthetic-mars/react2026": "react2026"}


@pytest.mark.parametrize("fmt", EXTENSIONS)
@pytest.mark.parametrize("task", ("offline", "online"))
@pytest.mark.parametrize("board", MARS_BOARDS)
def test_committed_mars_table_is_the_render_of_committed_results(board, task, fmt, cli,
                                                                 tmp_path):
    committed = ROOT / board / f"{task}.{EXTENSIONS[fmt]}"
    results = ROOT / board / "results" / task
    assert sorted(results.glob("*.json")), f"{board}/results/{task} holds no result file"
    out = tmp_path / committed.name
    code, _, err = cli("leaderboard", results, "--table", task, "--format", fmt, "--output", out)
    assert code == 0, err
    stored, rendered = committed.read_text(encoding="utf-8"), out.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(stored.splitlines(True), rendered.splitlines(True),
                                        f"{board}/{committed.name} (committed)", "rendered"))
    assert stored == rendered, (
        f"{board}/{committed.name} is not what `reactbench leaderboard {board}/results/{task} "
        f"--table {task} --format {fmt}` renders; re-render it (PROTOCOL="
        f"{MARS_BOARDS[board]} leaderboards/regenerate.sh keeps stored results):\n{diff}")
    if fmt == "md":
        assert MARS_BOARDS[board] in stored  # the caption names the protocol
