"""The main README's "Plug in your model" snippet runs through the CLI as written."""

from __future__ import annotations

from pathlib import Path

from reactbench.results import read_result

README = Path(__file__).resolve().parents[2] / "README.md"


def _snippet() -> str:
    text = README.read_text()
    section = text.split("## Plug in your model", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_plugin_snippet_runs_offline_and_online(tiny_dataset, tmp_path, cli):
    (tmp_path / "my_model.py").write_text(_snippet())
    model = f"{tmp_path / 'my_model.py'}:MyModel"
    for task in ("offline", "online"):
        out = tmp_path / task
        code, stdout, err = cli("run", "--data", tiny_dataset, "--samples", "2", "--out", out,
                                "--no-progress", "--jobs", "1", "--model", model,
                                "--model-arg", "strength=0.8", "--task", task)
        assert code == 0, err
        (result,) = [read_result(p) for p in out.glob("*.json")]
        assert result["model"]["params"] == {"strength": 0.8}
        assert result["task"] == task
        assert set(result["metrics"]) >= {"FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRSyn"}
