"""leaderboards/regenerate.sh: runs models, skips stored results, rebuilds every table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "leaderboards" / "regenerate.sh"


@pytest.mark.skipif(sys.platform == "win32", reason="bash script")
def test_regenerate_adds_rows_without_rerunning(tiny_dataset, tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "LEADERBOARD_OUT": str(tmp_path),
           "TASKS": "offline", "RUN_ARGS": f"--data {tiny_dataset} --samples 2 --no-progress"}
    env.pop("REACTBENCH", None)

    def regen(models: str) -> str:
        proc = subprocess.run(["bash", str(SCRIPT), models], env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        return proc.stdout

    regen("b_mime,gt")
    first = (tmp_path / "results" / "offline" / "b_mime_offline_test_official_a2_s0.json")
    before = first.read_bytes()
    out = regen("b_meanfr,b_mime")
    assert "keeping existing result" in out and first.read_bytes() == before
    table = (tmp_path / "offline.md").read_text()
    for row in ("| GT ", "| B_Mime ", "| B_MeanFr "):
        assert row in table
    assert (tmp_path / "offline.tex").read_text().startswith(r"\begin{table}")
    assert (tmp_path / "offline.csv").read_text().startswith("method,model,task")
    assert not (tmp_path / "online.md").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="bash script")
def test_regenerate_under_a_mars_protocol(tmp_path):
    from reactbench.data import mars_synthetic

    mars = mars_synthetic.generate(tmp_path / "mars", sessions=2,
                                   dyads={"train": 1, "val": 1, "test": 1}, min_frames=58,
                                   max_frames=120, seed=0)
    out = tmp_path / "board"
    env = {**os.environ, "PYTHON": sys.executable, "LEADERBOARD_OUT": str(out),
           "PROTOCOL": "react2025", "ONLINE_BASELINES": "b_mime",
           "RUN_ARGS": f"--data {mars} --samples 2 --no-progress"}
    env.pop("REACTBENCH", None)
    proc = subprocess.run(["bash", str(SCRIPT), "baselines"], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "== online: b_mime" in proc.stdout  # whole-clip baselines run offline only
    offline = {p.name for p in (out / "results" / "offline").glob("*_react2025_*.json")}
    assert {f"{m}_offline_test_react2025_a2_s0.json" for m in
            ("b26_random", "b26_mime", "b26_meanfr", "gt_identical")} <= offline
    assert (out / "results" / "online" / "b_mime_online_test_react2025_a2_s0.json").is_file()
    for task in ("offline", "online"):
        assert "react2025" in (out / f"{task}.md").read_text()
        assert (out / f"{task}.csv").is_file() and (out / f"{task}.tex").is_file()
