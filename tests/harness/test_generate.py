"""Generation (reactbench.harness.generate): window length and memory checks made before any
model work; a model's exception named at the line of its own code."""

from __future__ import annotations

import re

import numpy as np
import pytest

from reactbench import registry
from reactbench.data import load_split
from reactbench.errors import ModelError
from reactbench.harness.generate import call_model, generate_offline, generate_online
from tests.helpers.failing_plugins import where, write_plugin
from tests.helpers.quick_runs import PLUGINS, run_args

IN_TORCH = r", raised in torch/nn/modules/linear\.py:\d+\)"


@pytest.mark.parametrize("window", ["120", "100000"])
def test_online_window_covering_the_whole_clip_is_refused(tiny_dataset, tmp_path, cli, window):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "o", "--model", "b_mime", "--task",
                                 "online", "--window", window))
    assert code == 2 and f"--window {window}: the clips of test hold T = 120 frames" in err, err
    assert not list((tmp_path / "o").glob("*.json"))


def test_samples_beyond_memory_are_refused_before_generating(tiny_dataset, tmp_path, cli,
                                                              monkeypatch):
    from reactbench.harness import generate

    monkeypatch.setattr(generate, "physical_memory", lambda: 2**30)
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "o", "--model", "b_mime"),
                       "--samples", "100000")
    assert code == 2 and "--samples 100000: the predictions (N, alpha, T, 25) = (8, 100000, " \
        "120, 25) float32 need 8.9 GiB, more than this machine's 1.0 GiB" in err, err
    assert not list((tmp_path / "o").glob("*.json"))


def test_online_mode_checks_the_frames_offline_generate_returns(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model", f"{PLUGINS}:ExtraFrames",
                                 "--task", "online", "--window", "40"))
    assert code == 2 and "'extra_frames': generate returned reactions of shape" in err, err
    assert "for a prefix of 40 speaker frames" in err


@pytest.mark.parametrize("task", ["offline", "online"])
@pytest.mark.parametrize(("cls", "raised", "inner"), [
    ("InTorch", RuntimeError, IN_TORCH),  # the innermost frame is torch's
    ("Direct", ValueError, r"\)"),  # the plug-in's line is the innermost one
])
def test_a_model_error_names_the_plugins_own_line(tiny_dataset, tmp_path, monkeypatch, task,
                                                  cls, raised, inner):
    monkeypatch.chdir(tmp_path)
    model = registry.create_model(f"{write_plugin(tmp_path)}:{cls}")
    data = load_split(tiny_dataset, "test", audio=False)
    gen = generate_offline if task == "offline" else generate_online
    kw = {} if task == "offline" else {"window": 40}
    with pytest.raises(ModelError) as info:
        gen(model, data, alpha=2, seed=0, batch_size=4, name=cls, **kw)
    call = "generate" if task == "offline" else r"generate_online\(start=0, end=40\)"
    assert re.search(rf"\(in {call} for rows 0\.\.3; {re.escape(where(cls, 'team_model.py'))}"
                     + inner, str(info.value)), str(info.value)
    assert isinstance(info.value.__cause__, raised)  # the whole traceback stays reachable


def test_every_call_of_user_code_names_its_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = registry.create_model(f"{write_plugin(tmp_path)}:FitFails")
    fit = re.escape(f"(in fit; {where('FitFails', 'team_model.py')})")
    with pytest.raises(ModelError, match=fit):
        call_model(model, "fit_fails", "fit", None, lambda: model.fit(None))
    with pytest.raises(ModelError, match=r"raised ZeroDivisionError: division by zero \(in "
                                         r"cache_identity; at \S*test_generate\.py:\d+ `"):
        call_model(model, "m", "cache_identity", None, lambda: 1 / 0)


class _Bar:
    """Records what generate_offline shows on its progress bar."""

    def __init__(self, iterable=None, *, total, unit="it", **_):
        self.total, self.unit, self.n, self.shown = total, unit, 0.0, []

    def update(self, step):
        self.n += step
        self.shown.append(round(self.n, 6))

    def close(self):
        pass


@pytest.mark.parametrize("reports", [True, False])
def test_offline_bar_counts_rows_and_a_models_own_progress(tiny_dataset, monkeypatch, reports):
    """The offline bar counts rows; a model whose generate takes ``progress`` moves it within a
    batch (fractions of the batch), one without it after each batch."""
    from reactbench.harness import generate
    from reactbench.models import Reactions

    bars = []
    monkeypatch.setattr(generate, "tqdm", lambda *a, **k: bars.append(_Bar(*a, **k)) or bars[-1])
    data = load_split(tiny_dataset, "test", neighbours=False)

    class Plain:
        def generate(self, speaker, *, alpha, seed):
            b, t = speaker.emotion.shape[:2]
            return Reactions(emotion=np.zeros((b, alpha, t, 25), np.float32))

    class Reporting(Plain):
        def generate(self, speaker, *, alpha, seed, progress=None):
            self.given = progress
            for f in (0.25, 0.5, 0.5, 1.0) if progress is not None else ():
                progress(f)
            return super().generate(speaker, alpha=alpha, seed=seed)

    model = Reporting() if reports else Plain()
    generate_offline(model, data, alpha=2, seed=0, batch_size=4, progress=True, keep_face=False)
    (bar,) = bars
    assert bar.total == data.n and bar.unit == "row" and bar.n == pytest.approx(data.n)
    ends = [min(s + 4, data.n) for s in range(0, data.n, 4)]
    if reports:
        first = min(4, data.n)
        assert bar.shown[:3] == [0.25 * first, 0.5 * first, first]
        assert set(ends) <= set(bar.shown)
    else:
        assert bar.shown == ends
    bars.clear()
    generate_offline(model, data, alpha=2, seed=0, batch_size=4, progress=False, keep_face=False)
    assert bars[0].total == data.n  # a silent bar; the model gets no progress callback
    assert getattr(model, "given", None) is None
