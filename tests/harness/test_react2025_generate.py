"""Generation on variable-length clips (REACT2025/2026): chunk and window arithmetic against
hand computations, how segments reach the model, AU rounding, window-level causality."""

from __future__ import annotations

import re

import numpy as np
import pytest

from reactbench import registry
from reactbench.data.mars import load_clips
from reactbench.errors import ModelError
from reactbench.harness.causality import CausalityError
from reactbench.harness.clip_runner import check_clip_causality
from reactbench.harness.clips import (
    cut,
    generate_clips,
    generation_plan,
    plan_segments,
    round_aus,
    segment_spans,
)
from reactbench.models import BaseReactionModel, ModelInfo, Reactions
from reactbench.protocols import REACT2025
from tests.data import _mars
from tests.helpers.failing_plugins import where, write_plugin

OFFLINE = generation_plan(REACT2025, "offline")
ONLINE = generation_plan(REACT2025, "online")


def test_plans_come_from_the_protocol():
    assert OFFLINE == {"step": 750, "size": 750, "before": 0}
    assert ONLINE == {"step": 30, "size": 60, "before": 30}


@pytest.mark.parametrize("length, spans", [
    (58, [(0, 0, 58)]),
    (750, [(0, 0, 750)]),  # L mod 750 = 0: one chunk, no empty chunk
    (751, [(0, 0, 750), (750, 750, 751)]),
    (1500, [(0, 0, 750), (750, 750, 1500)]),
    (1600, [(0, 0, 750), (750, 750, 1500), (1500, 1500, 1600)]),
])
def test_offline_chunks_by_hand(length, spans):
    assert segment_spans(length, **OFFLINE) == spans


@pytest.mark.parametrize("length, spans", [
    # window i keeps [30i, min(30i + 30, L)) and sees [30i - 30, 30i + 30)
    (20, [(-30, 0, 20)]),  # L < window: one window, 20 frames kept
    (30, [(-30, 0, 30)]),
    (61, [(-30, 0, 30), (0, 30, 60), (30, 60, 61)]),
    (90, [(-30, 0, 30), (0, 30, 60), (30, 60, 90)]),
])
def test_online_windows_by_hand(length, spans):
    assert segment_spans(length, **ONLINE) == spans


def test_cut_pads_with_zeros_on_both_sides():
    x = np.arange(1, 11, dtype=np.float32)[:, None]  # frames 0..9 hold 1..10
    assert cut(x, -3, 6)[:, 0].tolist() == [0, 0, 0, 1, 2, 3]
    assert cut(x, 8, 5)[:, 0].tolist() == [9, 10, 0, 0, 0]
    assert cut(x, -2, 14)[:, 0].tolist() == [0, 0, *range(1, 11), 0, 0]


class Echo(BaseReactionModel):
    """Returns its speaker input (every generation), records each call's shape and spans."""

    info = ModelInfo(name="echo")
    needs_train = False
    needs_audio = False

    def __init__(self) -> None:
        self.calls: list[tuple[tuple, np.ndarray]] = []

    def generate(self, speaker, *, alpha, seed):
        self.calls.append((speaker.emotion.shape, speaker.spans.copy()))
        e = np.repeat(speaker.emotion[:, None], alpha, axis=1)
        return Reactions(emotion=e)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """A MARS tree with clips of 58, 750, 751 and 95 frames (two sessions)."""
    root = tmp_path_factory.mktemp("mars") / "mars"
    lengths = {"ses0/a": 58, "ses0/b": 750, "ses1/c": 751, "ses1/d": 95}
    for i, (stem, n) in enumerate(lengths.items()):
        for j, role in enumerate(("speaker", "listener")):
            _mars.write_clip(root, "test", f"{role}/{stem}", n, seed=10 * i + j, wav=False,
                             features=False)
    return load_clips(root, "test", audio=False)


@pytest.mark.parametrize("task", ["offline", "online"])
def test_an_echo_model_gives_back_every_clip_exactly(clips, task):
    model = Echo()
    preds = generate_clips(model, clips, protocol=REACT2025, task=task, alpha=2, seed=0,
                           batch_size=3, check_range=False, name="echo")
    assert preds.sample_ids == clips.sample_ids
    for p, s in zip(preds.emotion, clips.speaker_emotion):
        assert p.shape == (2, len(s), 25)
        np.testing.assert_array_equal(p[0], s)
        np.testing.assert_array_equal(p[1], s)
    size = 750 if task == "offline" else 60
    assert {shape[1:] for shape, _ in model.calls} == {(size, 25)}  # fixed-length batches
    assert all(shape[0] <= 3 for shape, _ in model.calls)
    n_segments = sum(len(spans) for _, spans in model.calls)
    plan = OFFLINE if task == "offline" else ONLINE
    assert n_segments == len(plan_segments(clips.lengths, **plan))


def test_the_model_sees_only_its_window_and_the_context(clips):
    model = Echo()
    generate_clips(model, clips, protocol=REACT2025, task="online", alpha=1, seed=0,
                   batch_size=100, check_range=False, name="echo")
    spans = np.concatenate([s for _, s in model.calls])
    assert (spans[:, 1] - spans[:, 0] == 60).all()
    assert spans[0].tolist() == [-30, 30]  # window 0: 30 zero frames, then frames 0..29


def test_au_rounding_is_half_to_even_and_not_clipped():
    x = np.zeros((1, 4, 25), dtype=np.float32)
    x[0, :, 0] = [0.5, 1.5, 1.7, -0.6]
    x[0, :, 15] = 0.26  # VA left as it is
    out, outside = round_aus([x])
    assert out[0][0, :, 0].tolist() == [0.0, 2.0, 2.0, -1.0]
    assert outside == 3
    assert out[0][0, 0, 15] == pytest.approx(0.26)
    assert x[0, 0, 0] == 0.5  # the input is not changed


class PeekAhead(Echo):
    """Window b's reaction is the speaker input of the next row of the batch: a later window
    of the same clip (not causal)."""

    info = ModelInfo(name="peek")

    def generate(self, speaker, *, alpha, seed):
        nxt = np.roll(speaker.emotion, -1, axis=0)
        return Reactions(emotion=np.repeat(nxt[:, None], alpha, axis=1))


@pytest.mark.parametrize("model, ok", [(Echo(), True), (PeekAhead(), False)])
def test_window_level_causality(clips, model, ok):
    kw = dict(protocol=REACT2025, alpha=1, seed=0, batch_size=8, check_range=False)
    preds = generate_clips(model, clips, task="online", name=model.info.name, **kw)
    if ok:
        summary = check_clip_causality(model, clips, preds, n_windows=3, name="echo", **kw)
        assert summary["passed"] and summary["windows_checked"][0] == [0, 30]
    else:
        with pytest.raises(CausalityError, match="causality check failed for model 'peek'"):
            check_clip_causality(model, clips, preds, n_windows=3, name="peek", **kw)


@pytest.mark.parametrize("task", ["offline", "online"])
def test_a_model_error_in_a_segment_names_the_plugins_line(clips, tmp_path, monkeypatch, task):
    monkeypatch.chdir(tmp_path)
    model = registry.create_model(f"{write_plugin(tmp_path)}:InTorch")
    with pytest.raises(ModelError) as info:
        generate_clips(model, clips, protocol=REACT2025, task=task, alpha=1, seed=0,
                       batch_size=3, check_range=False, name="in_torch")
    text = str(info.value)
    assert re.search(r"of the first row\) for rows \d+\.\.\d+; " + re.escape(
        where("InTorch", "team_model.py") + ", raised in torch/nn/modules/linear.py:"), text), text
