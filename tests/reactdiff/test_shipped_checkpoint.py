"""The shipped small checkpoint loads on CPU and generates valid reactions."""

from __future__ import annotations

import numpy as np
import pytest
from reactbench.reactdiff import checkpoint as ck
from reactbench.reactdiff import plugin

from .fakes import random_person, random_split, speaker_input


@pytest.fixture(scope="module")
def shipped():
    if not ck.SHIPPED.is_file():
        pytest.fail(f"the shipped checkpoint {ck.SHIPPED} is missing")
    return ck.read_checkpoint(ck.SHIPPED)


def test_shipped_checkpoint_is_small_and_complete(shipped):
    assert ck.SHIPPED.stat().st_size < 8 * 2**20
    assert shipped["variant"] == "reactdiff" and shipped["config"]["preset"] == "small"
    assert shipped["dataset"]["train"].get("generator")
    assert set(shipped["dataset"]) == {"train", "val"}
    assert bool(shipped["model"]["latent_norm.fitted"])


def test_shipped_checkpoint_generates_valid_reactions(shipped):
    logmel = shipped["widths"]["logmel"]
    split = random_split(4, 120, 0, "test")
    rng = np.random.default_rng(0)
    _, _, audio = random_person(rng, 4, 120)
    audio["logmel"] = rng.standard_normal((4, 120, logmel)).astype(np.float32)
    split.speaker_audio = audio
    model = plugin.ReactDiff(check_data="false")  # default: the shipped checkpoint
    model.fit(split)
    out = model.generate(speaker_input(split, [0, 1]), alpha=2, seed=0)
    emo = out.emotion
    assert emo.shape == (2, 2, 120, 25) and out.face_3dmm.shape == (2, 2, 120, 58)
    assert np.isfinite(emo).all() and np.isfinite(out.face_3dmm).all()
    assert emo[..., :15].min() >= 0 and emo[..., :15].max() <= 1
    assert np.abs(emo[..., 15:17]).max() <= 1
    np.testing.assert_allclose(emo[..., 17:].sum(-1), 1, atol=1e-4)
    online = model.generate_online(speaker_input(split, [0], 50), start=0, alpha=2, seed=0)
    assert online.emotion.shape == (1, 2, 50, 25)


def test_shipped_mars_checkpoint_fits_the_synthetic_mars_data():
    """The REACT2025/2026 default: small, 30-frame windows, the MARS streams, and trained on
    the embedded synthetic MARS dataset (its recorded identity is the harness's)."""
    from reactbench.reactdiff.clip_job import harness_identity

    from reactbench.data.mars_synthetic import GENERATOR_VERSION  # only this test needs them
    from reactbench.data.resolve import resolve_mars_data

    if not ck.SHIPPED_MARS.is_file():
        pytest.fail(f"the shipped MARS checkpoint {ck.SHIPPED_MARS} is missing")
    mars = ck.read_checkpoint(ck.SHIPPED_MARS)
    assert ck.SHIPPED_MARS.stat().st_size < 10 * 2**20
    assert mars["variant"] == "reactdiff" and mars["config"]["preset"] == "small"
    assert mars["config"]["model"]["window"] == 30 and mars["widths"]["wav2vec"] == 768
    assert mars["sampling"]["temperature"] in mars["config"]["train"]["temperatures"]
    train = mars["dataset"]["train"]
    assert train["layout"] == "mars" and train["generator"]["version"] == GENERATOR_VERSION
    ck.check_dataset(mars, harness_identity(resolve_mars_data(None, progress=False), "train"),
                     "cmd")
