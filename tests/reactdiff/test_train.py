"""Two-stage training: loss decreases, checkpoints round-trip and resume, clear errors."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from reactbench.reactdiff import checkpoint as ck
from reactbench.reactdiff.dataset import ClipDataset, split_arrays, to_device
from reactbench.reactdiff.distributed import resolve_device
from reactbench.reactdiff.streams import stream_widths
from reactbench.reactdiff.train import Trainer

from reactbench.errors import ModelError

from .conftest import train_tiny
from .fakes import tiny_config


def _trainer(variant, split, steps=100):
    cfg = tiny_config(variant)
    arrays = split_arrays(split, cfg)
    tr = Trainer(cfg, stream_widths(cfg.model.streams, arrays["listener"]), progress=False)
    tr.fit_input_statistics(arrays)
    return tr, arrays, cfg


@pytest.mark.parametrize("variant", ["reactdiff", "reactdiff-lrs"])
def test_a_few_steps_reduce_the_loss(fake_splits, variant):
    train, _ = fake_splits
    tr, arrays, cfg = _trainer(variant, train)
    for stage in (1, 2):
        if stage == 2:
            tr.fit_latent_statistics(arrays)
        tr._setup_stage(stage, 100)
        ds = ClipDataset(arrays, cfg, stage, seed=0)
        batch = to_device(torch.utils.data.default_collate([ds[i] for i in range(2)]), "cpu")
        losses = [tr.train_step(batch, causal=False) for _ in range(15)]
        assert np.mean(losses[-3:]) < 0.9 * losses[0], (stage, losses)


def test_without_matplotlib_the_log_is_written_without_its_plot(tmp_path, monkeypatch):
    from reactbench.reactdiff import trainlog

    log = [{"stage": 1, "epoch": 0, "train_loss": 1.0, "val_loss": None}]
    monkeypatch.setattr(trainlog, "can_plot", lambda: False)
    trainlog.write_log(log, tmp_path)
    assert (tmp_path / "loss.csv").is_file() and not (tmp_path / "loss.png").exists()
    monkeypatch.undo()
    trainlog.write_log(log, tmp_path)
    assert (tmp_path / "loss.png").is_file()


def test_outputs_files_and_checkpoint_round_trip(tiny_model, fake_splits):
    out = tiny_model.parent
    for name in ("checkpoint.pt", "model.pt", "stage1_best.pt", "stage2_best.pt", "loss.csv",
                 "loss.png"):
        assert (out / name).is_file(), name
    rows = list(csv.DictReader((out / "loss.csv").open()))
    assert {r["stage"] for r in rows} == {"1", "2"}
    full = torch.load(out / "checkpoint.pt", weights_only=False)
    model = ck.read_checkpoint(tiny_model)
    for key in ("config", "widths", "dataset", "reactbench_version", "model"):
        assert key in model
    assert "optimizer" in full and model["dataset"]["train"]["content_hash"] == "fake0"
    # every parameter and statistic restored: identical outputs for a fixed input
    _, net = ck.build_network(model)
    _, net2 = ck.build_network(full, weights="ema")
    streams = {k: torch.from_numpy(v[:2]) for k, v in
               split_arrays(fake_splits[0], tiny_config())["speaker"].items()}
    noise = torch.randn(2, 3, 4, 10, 8, generator=torch.Generator().manual_seed(0))
    uni = torch.rand(2, 3)
    a = net.sample_latents(streams, noise, uni, causal=False)
    b = net2.sample_latents(streams, noise, uni, causal=False)
    assert torch.equal(a, b)
    assert bool(net.latent_norm.fitted)
    assert not torch.equal(net.cond_proj.weight, torch.zeros_like(net.cond_proj.weight))


def test_resume_and_stage_errors(tmp_path, fake_splits, tiny_stage1_run):
    with pytest.raises(ModelError, match="--stage 1"):
        train_tiny(tmp_path / "new", splits=fake_splits, stage="2")
    returned, out = tiny_stage1_run  # train_tiny(out, stage="1")
    assert returned is None
    path = train_tiny(out, splits=fake_splits, stage="2")  # continues after stage 1
    assert path.is_file()
    with pytest.raises(ModelError, match="pass resume to continue"):
        train_tiny(out, splits=fake_splits)
    before = ck.read_checkpoint(path)["model"]
    train_tiny(out, splits=fake_splits, resume=True)  # both stages done: nothing to train
    after = ck.read_checkpoint(path)["model"]
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_interrupted_stage_resumes(tmp_path, fake_splits):
    """A stage stopped after its first epoch continues from the checkpoint's epoch."""
    from reactbench.reactdiff.train import Trainer as T

    cfg = tiny_config()
    cfg.train.epochs1 = 3
    train, val = fake_splits
    arrays, varr = split_arrays(train, cfg), split_arrays(val, cfg)
    widths = stream_widths(cfg.model.streams, arrays["listener"])
    t1 = T(cfg, widths, out=tmp_path, progress=False)
    t1.run_stage(1, arrays, varr, epochs=3, max_steps=1)  # "interrupted" after one epoch
    assert t1.state["epoch"] == 1
    t2 = T(cfg, widths, out=tmp_path, progress=False)
    t2.load(tmp_path / "checkpoint.pt")
    assert t2.state["epoch"] == 1 and t2._pending_opt is not None
    t2.run_stage(1, arrays, varr, epochs=3)
    assert t2.state["epoch"] == 3 and [r["epoch"] for r in t2.log] == [1, 2, 3]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(ModelError, match="use device=cpu"):
        resolve_device("cuda")
    with pytest.raises(ModelError, match="'cpu' or 'cuda'"):
        resolve_device("tpu")


def test_stage2_from_another_models_mmt(tmp_path, tiny_model, fake_splits):
    """--stage1-from: stage 2 trains on the given model's MMT, left unchanged; a condition of
    another width (window positions) is fine, another MMT architecture is a clear error."""
    from reactbench.reactdiff.train import train_reactdiff

    train, val = fake_splits
    ids = {"train": train.identity, "val": val.identity}
    cfg = tiny_config()
    cfg.model.cond_position = 4
    path = train_reactdiff(cfg, train, val, out=tmp_path / "s2", stage="2", progress=False,
                           identities=ids, stage1_from=tiny_model)
    src, new = ck.read_checkpoint(tiny_model), ck.read_checkpoint(path)
    mmt = [k for k in src["model"] if k.startswith(("encoder.", "decoder.", "stream_norm."))]
    assert mmt and all(torch.equal(src["model"][k], new["model"][k]) for k in mmt)
    assert new["model"]["cond_proj.weight"].shape[1] == \
        src["model"]["cond_proj.weight"].shape[1] + 4
    assert new["summary"]["stage1_from"] == str(tiny_model)
    other = tiny_config()
    other.model.latent_dim += 2
    with pytest.raises(ModelError, match="latent_dim"):
        train_reactdiff(other, train, val, out=tmp_path / "bad", stage="2", progress=False,
                        identities=ids, stage1_from=tiny_model)
    with pytest.raises(ModelError, match="use it with stage=2"):
        train_reactdiff(tiny_config(), train, val, out=tmp_path / "all", progress=False,
                        identities=ids, stage1_from=tiny_model)


def test_stage2_crop_is_separate_from_stage1(fake_splits):
    cfg = tiny_config()
    cfg.train.crop, cfg.train.crop2 = 20, 0
    arrays = split_arrays(fake_splits[0], cfg)
    assert ClipDataset(arrays, cfg, 1, seed=0)[0]["listener_emotion"].shape[0] == 20
    assert ClipDataset(arrays, cfg, 2, seed=0)[0]["listener_emotion"].shape[0] == 40
    cfg.train.crop2 = -1  # default: the same crop in both stages
    assert ClipDataset(arrays, cfg, 2, seed=0)[0]["listener_emotion"].shape[0] == 20


def test_int8_storage_round_trips_within_half_a_step(tiny_model):
    """quantise_int8: weight matrices as int8 + per-channel scales (|error| <= scale / 2),
    statistics and small tensors untouched; a quantised model file loads and generates nearly
    the same reactions."""
    src = ck.read_checkpoint(tiny_model)
    state = {k: v.float() if v.is_floating_point() else v for k, v in src["model"].items()}
    q = ck.quantise_int8(state, min_size=16)
    stored = [k[:-len(ck.Q8)] for k in q if k.endswith(ck.Q8)]
    assert stored and all(q[k + ck.Q8].dtype == torch.int8 for k in stored)
    assert not any(k.startswith(("latent_norm", "stream_norm", "target_norm")) for k in stored)
    back = ck.dequantise(q)
    assert set(back) == set(state)
    for k in stored:
        step = q[k + ck.Q8_SCALE].view(-1, *([1] * (state[k].dim() - 1)))
        assert ((back[k] - state[k]).abs() <= step / 2 + 1e-7).all(), k
    _, net = ck.build_network(src)
    _, net_q = ck.build_network({**src, "model": q})
    z = torch.randn(2, 30, net.cfg.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        e, eq = net.decode(z)[1], net_q.decode(z)[1]
    assert (e - eq).abs().max() < 0.05 and not torch.equal(e, eq)


def test_a_diverging_loss_stops_training_without_saving(tmp_path, fake_splits, monkeypatch):
    cfg = tiny_config()
    train, val = fake_splits
    arrays, varr = split_arrays(train, cfg), split_arrays(val, cfg)
    widths = stream_widths(cfg.model.streams, arrays["listener"])
    trainer = Trainer(cfg, widths, out=tmp_path, progress=False)
    monkeypatch.setattr(trainer, "train_step", lambda *a, **k: float("nan"))
    with pytest.raises(ModelError, match="stage 1, epoch 1: the training loss is nan"):
        trainer.run_stage(1, arrays, varr, epochs=1)
    assert not (tmp_path / "checkpoint.pt").exists()
