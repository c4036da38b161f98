"""The plug-in guides (README's "Plug in your model", examples/README.md) stay true: the snippet
runs through the CLI as written, every flag they name exists, and their promises about `fit`
and the `needs_*` attributes hold."""

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


EXAMPLES_README = README.parent / "examples" / "README.md"


def test_every_flag_the_plugin_guides_name_exists():
    import re

    from reactbench.cli import build_parser

    plugin = README.read_text().split("## Plug in your model", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", plugin + EXAMPLES_README.read_text()))
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    known = {o for cmd in ("run", "score", "leaderboard", "plot") for a in sub[cmd]._actions
             for o in a.option_strings}
    assert named and named <= known, sorted(named - known)


RECORDER = '''
import json

import numpy as np

from reactbench.models import BaseReactionModel, Reactions


class Recorder(BaseReactionModel):
    def __init__(self, log="", train="true"):
        self.log, self.needs_train = log, train == "true"

    def _write(self, *item):
        with open(self.log, "a") as f:
            f.write(json.dumps(item) + "\\n")

    def fit(self, train, *, seed=0, device="cpu"):
        self._write("fit", seed, None if train is None else train.frames)

    def generate(self, speaker, *, alpha, seed):
        self._write("audio", sorted(speaker.audio))
        return Reactions(emotion=np.repeat(np.clip(speaker.emotion, 0, 1)[:, None], alpha, 1))
'''


def test_examples_readme_fit_and_needs_attributes_hold(tiny_dataset, tmp_path, cli):
    """examples/README.md: needs_train / needs_audio default to True; fit runs once per run,
    with the first seed not answered from the cache, on the training split cut to --frames."""
    import json

    (tmp_path / "recorder.py").write_text(RECORDER)
    log = tmp_path / "log.jsonl"

    def run(out: str, seeds: str, *extra: str) -> tuple[list, set]:
        log.unlink(missing_ok=True)
        code, _, err = cli("run", "--data", tiny_dataset, "--samples", "2", "--out",
                           tmp_path / out, "--no-progress", "--jobs", "1", "--metrics", "FRDist",
                           "--frames", "100", "--seed", seeds, "--model",
                           f"{tmp_path / 'recorder.py'}:Recorder", "--model-arg", f"log={log}",
                           *extra)
        assert code == 0, err
        items = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        fits = [item for item in items if item[0] == "fit"]
        return fits, {tuple(item[1]) for item in items if item[0] == "audio"}

    fits, audio = run("a", "0,1")
    assert fits == [["fit", 0, 100]] and audio == {("logmel", "mfcc")}
    assert run("b", "0,1") == ([], set())  # every seed from the cache: no fit, no generation
    assert run("c", "1,2")[0] == [["fit", 2, 100]]
    assert run("d", "0", "--model-arg", "train=false")[0] == [["fit", 0, None]]
