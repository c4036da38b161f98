"""The ablation analysis of leaderboards/synthetic/analysis (oracles, audio-state mean)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from reactbench.errors import DataError, ModelError

ANALYSIS = Path(__file__).resolve().parents[2] / "leaderboards" / "synthetic" / "analysis"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"analysis_{name}", ANALYSIS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


oracles = _module("oracles")
asm = _module("audio_state_mean")


def test_voicing_state_is_the_binned_trailing_share():
    rng = np.random.default_rng(0)
    energy = rng.normal(size=(3, 40))
    window, bins = 7, 4
    got = asm.voicing_state(energy, 0.1, window, bins)
    for r in range(3):
        for t in range(40):
            seg = energy[r, max(0, t - window + 1): t + 1] > 0.1
            assert got[r, t] == min(int(seg.mean() * bins), bins - 1)


def test_two_means_threshold_splits_two_modes():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(-60, 3, 500), rng.normal(-10, 3, 300)])
    assert -45 < asm.two_means_threshold(x) < -25


def test_audio_state_mean_is_causal_and_deterministic(tiny_dataset):
    from reactbench.data import load_split
    from reactbench.models import SpeakerInput

    train, test = load_split(tiny_dataset, "train"), load_split(tiny_dataset, "test")
    model = asm.AudioStateMean(window="10", bins="3")
    model.fit(train)
    assert model.means.shape == (3, 25)

    def speaker(t):
        return SpeakerInput(emotion=test.speaker_emotion[:, :t], face_3dmm=test.speaker_3dmm[:, :t],
                            audio={k: v[:, :t] for k, v in test.speaker_audio.items()},
                            rows=np.arange(test.n), clip_ids=test.speaker_ids)

    full = model.generate(speaker(test.frames), alpha=3, seed=0).emotion
    part = model.generate(speaker(60), alpha=3, seed=0).emotion
    assert full.shape == (test.n, 3, test.frames, 25)
    np.testing.assert_array_equal(full[:, :, :60], part)
    np.testing.assert_array_equal(full[:, 0], full[:, 2])
    with pytest.raises(ModelError, match="window and bins"):
        asm.AudioStateMean(window=0)


def test_row_classes_reproduce_the_generator_truth(tiny_dataset):
    from reactbench.data.synthetic import read_meta, read_truth

    meta = read_meta(tiny_dataset)
    for split in ("val", "test"):
        truth = read_truth(tiny_dataset, split)
        cls = oracles.row_classes(meta, split, truth.shape[0])
        np.testing.assert_array_equal((cls[:, None] == cls[None]).astype(float), truth)
    with pytest.raises(DataError, match="expected 5"):
        oracles.row_classes(meta, "test", 5)


def test_class_oracles():
    rng = np.random.default_rng(2)
    train = rng.random((6, 8, 25)).astype(np.float32)
    train_cls = np.array([0, 1, 0, 1, 0, 2])
    preds = oracles.class_oracles(train, train_cls, np.array([1, 0]), alpha=4)
    spec, mean = preds["class_specific"], preds["class_mean"]
    assert spec.shape == mean.shape == (2, 4, 8, 25)
    np.testing.assert_array_equal(spec[0, 0], train[1])  # class 1: rows 1, 3, wrapping
    np.testing.assert_array_equal(spec[0, 2], train[1])
    np.testing.assert_array_equal(spec[1, 1], train[2])  # class 0: rows 0, 2, 4
    np.testing.assert_allclose(mean[1, 3], train[[0, 2, 4]].mean(0), rtol=1e-6)
    with pytest.raises(DataError, match="class 3"):
        oracles.class_oracles(train, train_cls, np.array([3]), alpha=2)


def test_oracle_scores_on_tiny(tiny_dataset):
    res = oracles.score_oracles(tiny_dataset, "test", alpha=2)
    s = res["scores"]
    assert s["class_mean"]["FRDiv"] == 0.0 and s["class_specific"]["FRDiv"] > 0.0
    assert set(s["class_mean"]) == set(oracles.METRICS)


def test_sample_mean_of_saved_predictions(tiny_dataset, tmp_path):
    from reactbench.data import load_split
    from reactbench.predictions import Predictions, PredictionsError, save_predictions

    test = load_split(tiny_dataset, "test", audio=False)
    rng = np.random.default_rng(3)
    emo = rng.random((test.n, 3, test.frames, 25)).astype(np.float32)
    emo[..., 17:25] /= emo[..., 17:25].sum(-1, keepdims=True)
    mean = oracles.sample_mean(emo)
    np.testing.assert_allclose(mean[:, 1], emo.mean(1), rtol=1e-6)
    np.testing.assert_array_equal(mean[:, 0], mean[:, 2])
    path = save_predictions(tmp_path / "mymodel-1a2b.npz",
                            Predictions(emotion=emo, speaker_ids=test.speaker_ids))
    res = oracles.score_oracles(tiny_dataset, "test", alpha=2, predictions=[path])
    assert res["scores"]["mymodel_sample_mean"]["FRDiv"] == 0.0
    assert res["rmse_to_class_mean"]["mymodel"] > res["rmse_to_class_mean"]["class_specific"] > 0
    short = save_predictions(tmp_path / "short-x.npz", Predictions(emotion=emo[:2]))
    with pytest.raises(PredictionsError, match="rows"):
        oracles.score_oracles(tiny_dataset, "test", alpha=2, predictions=[short])


def test_keep_merges_other_models_entries_of_the_same_run_only():
    def run(models: dict[str, float], specific=0.5) -> dict:
        return {"dataset": "d", "generator": "g", "split": "test", "alpha": 10,
                "protocol": "official",
                "scores": {"class_specific": {"FRCorr": specific}, "class_mean": {"FRCorr": 1.0},
                           **{f"{m}_sample_mean": {"FRCorr": v} for m, v in models.items()}},
                "rmse_to_class_mean": {"class_specific": 0.1, **models},
                "predictions": [f"{m}-1a2b.npz" for m in models]}

    old = run({"reactdiff": 0.3, "b_meanseq": 0.2})
    res = oracles.keep_others(run({"reactdiff": 0.4}), old, Path("o.json"))
    assert res["rmse_to_class_mean"] == {"class_specific": 0.1, "reactdiff": 0.4,
                                         "b_meanseq": 0.2}
    assert res["scores"]["reactdiff_sample_mean"] == {"FRCorr": 0.4}
    assert res["scores"]["b_meanseq_sample_mean"] == {"FRCorr": 0.2}
    assert res["predictions"] == ["reactdiff-1a2b.npz", "b_meanseq-1a2b.npz"]
    with pytest.raises(DataError, match="o.json: split 'val', not 'test'"):
        oracles.keep_others(run({}), {**old, "split": "val"}, Path("o.json"))
    with pytest.raises(DataError, match="class_specific oracle scores"):
        oracles.keep_others(run({}, specific=0.6), old, Path("o.json"))


def test_rmse_and_model_names():
    a = np.zeros((2, 3, 4, 25))
    assert oracles.rmse(a + 2.0, a[:, :1]) == pytest.approx(2.0)
    assert oracles.model_name("x/reactdiff-no-video-591e00b13e3ebf66ddfa.npz") == \
        "reactdiff-no-video"
    assert oracles.model_name("reactdiff-591e00b13e3e.npz") == "reactdiff"
    assert oracles.model_name("mine.npz") == "mine"
    assert oracles.model_name("my-model.npz") == "my-model"
