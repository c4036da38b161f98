"""The plug-in: seeded offline/online generation, causality, variants and clear errors."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
import torch
from reactbench.reactdiff import checkpoint as ck
from reactbench.reactdiff import plugin
from reactbench.reactdiff.config import StreamSpec
from reactbench.reactdiff.streams import person_streams

from reactbench.errors import ModelError

from .conftest import train_tiny
from .fakes import speaker_input


@pytest.fixture(scope="module")
def model(tiny_model, fake_splits):
    m = plugin.ReactDiff(checkpoint=str(tiny_model), batch_rows="3")
    m.fit(fake_splits[0])
    return m


def _valid(emotion):
    assert emotion[..., :15].min() >= 0 and emotion[..., :15].max() <= 1
    assert np.abs(emotion[..., 15:17]).max() <= 1
    np.testing.assert_allclose(emotion[..., 17:].sum(-1), 1, atol=1e-4)


def test_offline_shapes_ranges_and_seeds(model, fake_splits):
    inp = speaker_input(fake_splits[0], [0, 1, 2, 3])
    a = model.generate(inp, alpha=3, seed=0)
    assert a.emotion.shape == (4, 3, 40, 25) and a.face_3dmm.shape == (4, 3, 40, 58)
    _valid(a.emotion)
    b = model.generate(inp, alpha=3, seed=0)
    np.testing.assert_array_equal(a.emotion, b.emotion)
    c = model.generate(inp, alpha=3, seed=1)
    assert not np.allclose(a.emotion, c.emotion)
    assert not np.allclose(a.emotion[:, 0], a.emotion[:, 1])  # alpha samples differ
    # a row's reactions do not depend on the batch it came in
    d = model.generate(speaker_input(fake_splits[0], [2]), alpha=3, seed=0)
    np.testing.assert_allclose(d.emotion[0], a.emotion[2], atol=1e-5)


def test_offline_progress_reaches_one_in_steps(model, fake_splits):
    """generate reports the fraction of its work done after each chunk of windows of each
    ``batch_rows`` slice (3 rows of 4 windows x alpha 2: 24 windows; 1 row: 8)."""
    inp = speaker_input(fake_splits[0], [0, 1, 2, 3])
    seen = []
    a = model.generate(inp, alpha=2, seed=0, progress=seen.append)
    assert seen == sorted(seen) and len(seen) == 2 and seen[-1] == pytest.approx(1.0)
    assert seen[0] == pytest.approx(0.5)  # the first of two slices done
    b = model.generate(inp, alpha=2, seed=0)
    np.testing.assert_array_equal(a.emotion, b.emotion)


def test_online_is_causal_and_incremental(model, fake_splits):
    split = fake_splits[0]
    rows = [0, 5]
    full = speaker_input(split, rows, 40)
    pieces = [model.generate_online(speaker_input(split, rows, end), start=end - 10, alpha=2,
                                    seed=3).emotion for end in (10, 20, 30, 40)]
    online = np.concatenate(pieces, axis=2)
    assert online.shape == (2, 2, 40, 25)
    _valid(online)
    whole = model.generate_online(full, start=0, alpha=2, seed=3).emotion
    np.testing.assert_allclose(online, whole, atol=1e-5)
    # perturb the speaker after frame 20: frames < 20 must not change
    pert = dataclasses.replace(full, emotion=full.emotion.copy(),
                               audio={k: v.copy() for k, v in full.audio.items()})
    pert.emotion[:, 20:] = np.random.default_rng(0).random(pert.emotion[:, 20:].shape)
    for v in pert.audio.values():
        v[:, 20:] += 3.0
    again = model.generate_online(pert, start=0, alpha=2, seed=3).emotion
    np.testing.assert_allclose(again[:, :, :20], whole[:, :, :20], atol=1e-5)


def test_no_diffusion_variant_is_deterministic(tmp_path, fake_splits):
    path = train_tiny(tmp_path / "nd", "reactdiff-no-diffusion", fake_splits)
    m = plugin.ReactDiffNoDiffusion(checkpoint=str(path))
    m.fit(fake_splits[0])
    out = m.generate(speaker_input(fake_splits[0], [0, 1]), alpha=3, seed=0).emotion
    np.testing.assert_array_equal(out[:, 0], out[:, 2])
    with pytest.raises(ModelError, match="--model reactdiff-no-diffusion"):
        plugin.ReactDiff(checkpoint=str(path)).fit(fake_splits[0])


def test_missing_checkpoint_says_how_to_train(tmp_path, fake_splits):
    with pytest.raises(ModelError, match="reactbench train --model reactdiff-lrs"):
        plugin.ReactDiffLRS(checkpoint=str(tmp_path / "none.pt")).fit(fake_splits[0])
    with pytest.raises(ModelError, match="unknown option"):
        plugin.ReactDiff(steps=3)
    with pytest.raises(ModelError, match="positive integer"):
        plugin.ReactDiff(ddim_steps="-1")
    with pytest.raises(ModelError, match="call fit"):
        plugin.ReactDiff().generate(speaker_input(fake_splits[0], [0]), alpha=1, seed=0)


def test_checkpoint_for_other_data_offers_retraining(tiny_model, fake_splits):
    other = dataclasses.replace(fake_splits[0], identity={"content_hash": "other"})
    with pytest.raises(ModelError, match="reactbench train --model reactdiff"):
        plugin.ReactDiff(checkpoint=str(tiny_model)).fit(other)
    plugin.ReactDiff(checkpoint=str(tiny_model), check_data="false").fit(other)


def test_ddim_steps_beyond_the_schedule_are_refused(tiny_model, fake_splits):
    with pytest.raises(ModelError, match="ddim_steps=21 exceeds the model's 20"):
        plugin.ReactDiff(checkpoint=str(tiny_model), ddim_steps=21).fit(fake_splits[0])


def test_sampler_options_are_checked_recorded_and_used(tiny_model, fake_splits):
    """timesteps / solver: refused when malformed or beside ddim_steps, recorded only where
    not DDIM at evenly spaced steps, handed to the sampler, and the solver changes the
    reactions while the same options reproduce them."""
    ck_ = str(tiny_model)
    with pytest.raises(ModelError, match="option timesteps='19;0': expected comma-separated"):
        plugin.ReactDiff(checkpoint=ck_, timesteps="19;0")
    with pytest.raises(ModelError, match="give ddim_steps or timesteps, not both"):
        plugin.ReactDiff(checkpoint=ck_, timesteps="19,0", ddim_steps="2")
    with pytest.raises(ModelError, match="option solver='heun': expected one of ddim, dpm2m"):
        plugin.ReactDiff(checkpoint=ck_, solver="heun")
    with pytest.raises(ModelError, match=r"strictly decreasing .*\(got \[0, 19\]\)"):
        plugin.ReactDiff(checkpoint=ck_, timesteps="0,19").fit(fake_splits[0])
    plain = plugin.ReactDiff(checkpoint=ck_, ddim_steps="3").info.params
    assert plain["ddim_steps"] == 3 and "timesteps" not in plain and "solver" not in plain
    m = plugin.ReactDiff(checkpoint=ck_, timesteps="19, 12,4,0", solver="dpm2m", batch_rows="3")
    assert m.info.params["ddim_steps"] == 4 and m.info.params["timesteps"] == [19, 12, 4, 0]
    assert m.info.params["solver"] == "dpm2m"
    m.fit(fake_splits[0])
    assert m._sampler.steps == (19, 12, 4, 0) and m._sampler.solver == "dpm2m"
    spk = speaker_input(fake_splits[1], rows=[0, 1])
    a = m.generate(spk, alpha=2, seed=0).emotion
    d = plugin.ReactDiff(checkpoint=ck_, timesteps="19,12,4,0", batch_rows="3")
    d.fit(fake_splits[0])
    assert not np.allclose(a, d.generate(spk, alpha=2, seed=0).emotion)
    np.testing.assert_array_equal(a, m.generate(spk, alpha=2, seed=0).emotion)


def test_streaming_option_is_checked(tiny_model, fake_splits):
    # bad values are refused when the model is created, before any data is loaded
    with pytest.raises(ModelError, match="option streaming='fast': expected one of dynamic, "
                                         "static, graphs"):
        plugin.ReactDiff(checkpoint=str(tiny_model), streaming="fast")
    with pytest.raises(ModelError, match="option precision='fp8': expected one of fp32, bf16"):
        plugin.ReactDiff(checkpoint=str(tiny_model), precision="fp8")
    with pytest.raises(ModelError, match="option device='tpu': expected cpu, cuda or cuda:k"):
        plugin.ReactDiff(checkpoint=str(tiny_model), device="tpu")
    with pytest.raises(ModelError, match="option device='cuda:x'"):
        plugin.ReactDiff(checkpoint=str(tiny_model), device="cuda:x")
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="CUDA was requested but no GPU is visible"):
            plugin.ReactDiff(checkpoint=str(tiny_model), device="cuda:0").fit(fake_splits[0])
    else:
        with pytest.raises(ModelError, match="device 'cuda:99': this machine has"):
            plugin.ReactDiff(checkpoint=str(tiny_model), device="cuda:99").fit(fake_splits[0])
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="needs a CUDA device"):
            plugin.ReactDiff(checkpoint=str(tiny_model), streaming="graphs").fit(fake_splits[0])
        with pytest.raises(ModelError, match="precision='bf16' needs a CUDA device"):
            plugin.ReactDiff(checkpoint=str(tiny_model), precision="bf16").fit(fake_splits[0])
    with pytest.raises(ModelError, match="option compile='maybe': expected true or false"):
        plugin.ReactDiff(checkpoint=str(tiny_model), compile="maybe")
    with pytest.raises(ModelError,
                       match="option kernels='cuda': expected one of torch, cpu, triton"):
        plugin.ReactDiff(checkpoint=str(tiny_model), kernels="cuda")
    with pytest.raises(ModelError, match="choose one"):
        plugin.ReactDiff(checkpoint=str(tiny_model), kernels="triton",
                         compile="true").fit(fake_splits[0])
    m = plugin.ReactDiff(checkpoint=str(tiny_model), streaming="static")
    m.fit(fake_splits[0])
    assert m._sampler.streaming == "static"


def test_kernels_follow_the_device_and_are_recorded(tiny_model, fake_splits):
    """Unset, the UNet's kernels are the device's default (cpu on a CPU, the modules on CUDA or
    with compile/bf16), recorded in the parameters whenever they are not the modules; a model
    created without its device follows the one fit() is given."""
    ck = str(tiny_model)

    def kernels(**kw):
        return plugin.ReactDiff(checkpoint=ck, **kw).info.params.get("kernels", "torch")

    assert kernels() == kernels(device="cpu") == kernels(kernels="cpu") == "cpu"
    assert kernels(device="cuda") == kernels(device="cuda:1") == "torch"
    assert kernels(kernels="torch") == kernels(compile="true") == kernels(precision="bf16")
    assert kernels(kernels="torch") == "torch"
    m = plugin.ReactDiff(checkpoint=ck, device="cuda")  # as the harness makes it for cuda
    m.device = None  # ... then fitted on a CPU
    m.fit(fake_splits[0], device="cpu")
    assert m.kernels == m._sampler.kernels == m.info.params["kernels"] == "cpu"
    m = plugin.ReactDiff(checkpoint=ck, kernels="torch")
    m.fit(fake_splits[0], device="cpu")  # asked for: kept
    assert m._sampler.kernels == "torch" and "kernels" not in m.info.params


def test_data_without_audio_is_a_clear_error(tiny_model, fake_splits):
    silent = dataclasses.replace(fake_splits[0], speaker_audio={}, listener_audio={})
    with pytest.raises(ModelError, match="reactdiff-no-audio"):
        plugin.ReactDiff(checkpoint=str(tiny_model)).fit(silent)


def test_feature_file_streams(tmp_path, fake_splits):

    split = fake_splits[0]
    spec = StreamSpec("afr", "file:feats", "audio", width=12)
    (tmp_path / "feats" / "fake" / "train").mkdir(parents=True)
    for cid in split.speaker_ids[:2]:
        np.save(tmp_path / "feats" / f"{cid}.npy", np.ones((40, 12), np.float32))
    out = person_streams([spec], split.speaker_emotion[:2], split.speaker_3dmm[:2], {},
                         split.speaker_ids[:2], tmp_path)
    assert out["afr"].shape == (2, 40, 12)
    np.save(tmp_path / "feats" / f"{split.speaker_ids[0]}.npy", np.ones((40, 7), np.float32))
    with pytest.raises(ModelError, match=r"expected \(T, 12\)"):
        person_streams([spec], split.speaker_emotion[:2], split.speaker_3dmm[:2], {},
                       split.speaker_ids[:2], tmp_path)
    with pytest.raises(ModelError, match="does not exist"):
        person_streams([spec], split.speaker_emotion[2:3], split.speaker_3dmm[2:3], {},
                       split.speaker_ids[2:3], tmp_path)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_generation_on_an_indexed_gpu_matches_plain_cuda(tiny_model, fake_splits):
    """device=cuda:k (the harness's --device cuda:k) generates on GPU k, as cuda does."""
    out = {}
    for dev in ("cuda", f"cuda:{torch.cuda.device_count() - 1}"):
        m = plugin.ReactDiff(checkpoint=str(tiny_model), device=dev)
        m.fit(fake_splits[0])
        out[dev] = m.generate(speaker_input(fake_splits[1], [0, 1]), alpha=2,
                              seed=0).emotion
    a, b = out.values()
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_stage1_model_file_is_not_a_generator(tmp_path, fake_splits):
    out = tmp_path / "run"
    train_tiny(out, splits=fake_splits, stage="1")
    best = out / "stage1_best.pt"
    assert 2 not in ck.read_checkpoint(best)["stages_done"]
    with pytest.raises(ModelError, match="is not a finished model .*--stage 2 --out"):
        plugin.ReactDiff(checkpoint=str(best)).fit(fake_splits[0])
    train_tiny(out, splits=fake_splits, stage="2")
    with pytest.raises(ModelError, match="is a training checkpoint; pass the model.pt"):
        plugin.ReactDiff(checkpoint=str(out / "checkpoint.pt")).fit(fake_splits[0])
    plugin.ReactDiff(checkpoint=str(out / "model.pt")).fit(fake_splits[0])


def test_other_data_error_offers_the_train_command_for_that_data(tmp_path, monkeypatch):
    from reactbench.reactdiff.plugin import train_command

    monkeypatch.setenv("REACTBENCH_CACHE", str(tmp_path / "cache"))
    assert train_command("reactdiff").endswith("--out runs/reactdiff-small [--data DIR]")
    assert train_command("reactdiff", tmp_path / "cache" / "datasets" / "synth").endswith(
        "--out runs/reactdiff-small")  # the embedded synthetic dataset needs no --data
    cmd = train_command("reactdiff-no-mmt", tmp_path / "my data")
    assert cmd.endswith(f"--out runs/reactdiff-no-mmt-small --data '{tmp_path / 'my data'}'")
    ckpt = {"path": "m.pt", "dataset": {"train": {"split": "train", "content_hash": "aaa"}}}
    with pytest.raises(ModelError, match="trained on other data .*content_hash: checkpoint "
                       "'aaa' vs data 'bbb'.*--data"):
        ck.check_dataset(ckpt, {"split": "train", "content_hash": "bbb"}, cmd)


def test_a_team_models_package_runs_beside_reactdiff_in_one_run(tmp_path, tiny_dataset):
    """A plug-in file that imports its team's own ``models`` package and ReactDiff are scored
    in one ``reactbench run`` (reactbench installs no top-level ``models``)."""
    import subprocess
    import sys
    import textwrap

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "models" / "net.py").write_text("LEVEL = 0.5\n")
    (tmp_path / "team.py").write_text(textwrap.dedent("""
        import numpy as np
        from models.net import LEVEL
        from reactbench.models import BaseReactionModel, ModelInfo, Reactions

        class Team(BaseReactionModel):
            info = ModelInfo(name="team", params={"level": LEVEL})

            def generate(self, speaker, *, alpha, seed):
                shape = (speaker.emotion.shape[0], alpha, *speaker.emotion.shape[1:])
                return Reactions(emotion=np.full(shape, LEVEL, np.float32))
    """))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "reactbench", "run", "--data", str(tiny_dataset),
           "--model", f"reactdiff,{tmp_path / 'team.py'}:Team", "--samples", "2",
           "--metrics", "FRCorr", "--model-arg", "reactdiff@check_data=false",
           "--out", str(out), "--no-progress", "--jobs", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path.parent, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    names = sorted(p.name.split("_offline")[0] for p in out.glob("*.json"))
    assert names == ["reactdiff", "team"]


def test_segments_of_one_clip_draw_their_own_noise(tiny_model, fake_splits):
    """Two harness segments of one clip (same row, other spans) start from other noise and are
    reproducible; a whole clip (no spans) keeps its row-keyed noise."""
    split = fake_splits[0]
    model = plugin.ReactDiff(checkpoint=str(tiny_model))
    model.fit(split)
    base = speaker_input(split, [0, 0])
    whole = model.generate(base, alpha=2, seed=0).emotion
    np.testing.assert_array_equal(whole[0], whole[1])
    t = base.emotion.shape[1]
    cut = dataclasses.replace(base, spans=np.array([[-20, t - 20], [750, 750 + t]]))
    parts = model.generate(cut, alpha=2, seed=0).emotion
    assert not np.array_equal(parts[0], parts[1])
    np.testing.assert_array_equal(model.generate(cut, alpha=2, seed=0).emotion, parts)
