"""Bad input to ReactDiff training and generation: resuming another run, invalid configs,
broken feature files, unfinished model files, output folders, ablate arguments."""

from __future__ import annotations

import numpy as np
import pytest
from reactbench.reactdiff import checkpoint as ck
from reactbench.reactdiff import plugin
from reactbench.reactdiff.config import StreamSpec, merge_overrides, preset_config
from reactbench.reactdiff.dataset import split_arrays
from reactbench.reactdiff.job import check_output_dir, train_job
from reactbench.reactdiff.streams import person_streams, stream_widths
from reactbench.reactdiff.train import Trainer

from reactbench.cli import main as cli
from reactbench.errors import ModelError

from .conftest import train_tiny
from .fakes import random_split, tiny_config


def test_resume_refuses_another_runs_settings_or_data(tmp_path, fake_splits):
    from reactbench.reactdiff.train import train_reactdiff

    out = tmp_path / "run"
    assert train_tiny(out, splits=fake_splits, stage="1") is None
    before = (out / "checkpoint.pt").read_bytes()
    cfg = tiny_config()
    cfg.train.epochs1 = 2
    train, val = fake_splits
    ids = {"train": train.identity, "val": val.identity}
    with pytest.raises(ModelError, match=r"belongs to another run.*train\.epochs1: run 1, "
                                         r"asked 2"):
        train_reactdiff(cfg, train, val, out=out, progress=False, identities=ids, resume=True)
    other = random_split(8, 40, 7, "train")
    with pytest.raises(ModelError, match="train data: run"):
        train_reactdiff(tiny_config(), other, val, out=out, progress=False, resume=True,
                        identities={"train": other.identity, "val": val.identity})
    assert (out / "checkpoint.pt").read_bytes() == before


def test_corrupt_training_checkpoint_is_a_clear_error(tmp_path, fake_splits):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"\x80\x02 truncated")
    with pytest.raises(ModelError, match="cannot read the training checkpoint"):
        train_tiny(out, splits=fake_splits, resume=True)


@pytest.mark.parametrize(("override", "needle"), [
    ({"model": {"d_model": "16"}}, "model.d_model must be int like 1024; got '16'"),
    ({"model": {"latent_dim": -16}}, "model.latent_dim must be >= 1; got -16"),
    ({"train": {"lr1": "fast"}}, "train.lr1 must be float"),
    ({"train": {"val_every": 0}}, "train.val_every must be >= 1"),
    ({"model": {"window": 0}}, "model.window must be >= 1"),
    ({"model": {"heads": 3}}, "model.d_model (1024) must be a multiple of model.heads (3)"),
    ({"model": {"fusion": "bogus"}}, "model.fusion must be 'cross' or 'concat'"),
    ({"train": {"batch_size": 0}}, "train.batch_size must be >= 1"),
    ({"train": {"ema": 1.5}}, "train.ema must lie in [0, 1]"),
    ({"model": {"streams": []}}, "model.streams must be a non-empty list"),
    ({"model": {"unet_attn_levels": [7]}}, "model.unet_attn_levels must index"),
])
def test_invalid_config_values_are_named(override, needle):
    with pytest.raises(ModelError, match=None) as info:
        merge_overrides(preset_config("paper"), override)
    assert needle in str(info.value), info.value


def test_config_file_must_be_an_object():
    with pytest.raises(ModelError, match="holds a JSON object"):
        merge_overrides(preset_config("small"), [1, 2])


@pytest.mark.parametrize(("content", "needle"), [
    (None, "is a directory; expected a JSON file"),
    (b"\xff{}", "is not UTF-8 text"),
    (b'{"model":', "is not valid JSON"),
])
def test_unreadable_config_files_are_named(tmp_path, content, needle):
    from reactbench.reactdiff.config import load_config_file

    path = tmp_path / "cfg.json"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=f"config file {path} {needle}"):
        load_config_file(path)


def test_every_preset_and_variant_config_is_valid():
    from reactbench.reactdiff.config import PRESETS, VARIANTS

    for p in PRESETS:
        for v in VARIANTS:
            preset_config(p, v)  # validated on construction


@pytest.mark.parametrize("damage", ["nan", "pickled", "garbage"])
def test_broken_feature_files_are_named(tmp_path, damage):
    spec = StreamSpec("afr", "file:feats", "audio", width=4)
    path = tmp_path / "feats" / "clip.npy"
    path.parent.mkdir()
    arr = np.zeros((20, 4), np.float32)
    if damage == "nan":
        arr[5, 2] = np.nan
        np.save(path, arr)
        needle = "1 NaN/inf values (first at frame 5, column 2)"
    elif damage == "pickled":
        np.save(path, np.array([{"a": 1}] * 20, dtype=object), allow_pickle=True)
        needle = "cannot read feature file"
    else:
        path.write_bytes(b"not numpy at all")
        needle = "cannot read feature file"
    emo, face = np.zeros((1, 20, 25), np.float32), np.zeros((1, 20, 58), np.float32)
    with pytest.raises(ModelError) as info:
        person_streams([spec], emo, face, {}, clip_ids=["clip"], root=tmp_path)
    assert str(path) in str(info.value) and needle in str(info.value), info.value


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


def test_output_folder_checks(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ModelError, match="is a file, not a directory"):
        check_output_dir(afile / "run", resume=False)
    with pytest.raises(ModelError, match="holds no checkpoint.pt to resume"):
        check_output_dir(tmp_path / "new", resume=True)
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "model.pt").write_bytes(b"x")
    with pytest.raises(ModelError, match="holds a model.pt but no checkpoint.pt"):
        check_output_dir(tmp_path / "done", resume=False)
    with pytest.raises(ModelError, match="--max-steps must be >= 1"):
        train_job("reactdiff", max_steps=0, out=tmp_path / "x", data=tmp_path / "missing")


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


def test_ablate_refuses_an_empty_variant_list(capsys):
    assert cli(["ablate", "--variants", ""]) == 2
    assert "expected a comma list of variant names" in capsys.readouterr().err
    assert cli(["ablate", "--variants", "no-mmt,"]) == 2


@pytest.mark.parametrize(("flags", "needle"), [
    (["--samples", "0"], "--samples must be >= 1"),
    (["--seed", "0,0"], "--seed names [0] more than once"),
    (["--split", "dev"], "unknown split 'dev'"),
    (["--runs", "afile/runs"], "afile is a file; --runs names the folder"),
    (["--train-seeds", "0,0"], "--train-seeds [0, 0]: expected distinct integers >= 0"),
    (["--train-seeds", "-1"], "expected distinct integers >= 0"),
    (["--train-seeds", "0,x"], "--train-seeds expects integers like 0 or 0,1,2"),
])
def test_ablate_checks_its_flags_before_training(tmp_path, capsys, monkeypatch, flags, needle):
    from reactbench.reactdiff import ablation

    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    monkeypatch.setattr(ablation, "train_job", lambda *a, **k: pytest.fail("trained"))
    code = cli(["ablate", "--variants", "no-mmt", "--runs", "runs", "--out", "out",
                "--no-progress", *flags])
    assert code == 2 and needle in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_ablate_variant_full_is_the_unablated_model(tmp_path, capsys, monkeypatch):
    from reactbench.reactdiff import ablation

    seen = []

    def stop(variants, **kw):
        seen.extend(variants)
        raise ModelError("stop")

    monkeypatch.setattr(ablation, "ablate", stop)
    assert cli(["ablate", "--variants", "full,no-mmt", "--out", str(tmp_path / "o")]) == 2
    assert seen == ["reactdiff", "reactdiff-no-mmt"]


def _train_on(dataset, out, variant, preset="small", seed=0):
    from reactbench.reactdiff.job import load_training_splits
    from reactbench.reactdiff.train import train_reactdiff

    cfg = tiny_config(variant)
    cfg.preset = preset
    _, train, val, ids = load_training_splits(cfg, dataset, 120, progress=False)
    return train_reactdiff(cfg, train, val, out=out, progress=False, identities=ids, seed=seed)


def test_ablate_table_covers_every_result_and_one_preset(tiny_dataset, tmp_path, monkeypatch):
    from reactbench.reactdiff.ablation import ablate

    from reactbench.results import read_results

    runs, out = tmp_path / "runs", tmp_path / "out"
    for v in ("reactdiff", "reactdiff-no-diffusion", "reactdiff-no-audio"):
        _train_on(tiny_dataset, runs / f"{v}-small", v)
    kw = dict(preset="small", data=tiny_dataset, runs=runs, out=out, alpha=2, progress=False,
              log=lambda *a: None)
    reads = []
    for name in ("read_checkpoint", "read_metadata"):
        real = getattr(ck, name)
        monkeypatch.setattr(ck, name, lambda p, _r=real, _n=name: reads.append((_n, p)) or _r(p))
    ablate(variants=("reactdiff", "reactdiff-no-diffusion"), **kw)
    for v in ("reactdiff", "reactdiff-no-diffusion"):  # metadata once, the weights once (fit)
        path = runs / f"{v}-small" / "model.pt"
        assert sorted(n for n, p in reads if p == path) == ["read_checkpoint", "read_metadata"]
    said = []
    records, table = ablate(variants=("reactdiff-no-audio",), **{**kw, "log": said.append})
    assert len(records) == 1 and len(read_results([out])) == 3
    text = table.read_text()
    assert "(w/o) Diffusion" in text and "(w/o) Audio" in text and "ReactDiff" in text
    assert any("rebuilt from all 3 result files" in s for s in said)
    _train_on(tiny_dataset, runs / "reactdiff-lrs-small", "reactdiff-lrs", preset="paper")
    with pytest.raises(ModelError, match="trained with the 'paper' preset, not 'small'"):
        ablate(variants=("reactdiff-lrs",), **kw)


def test_ablate_over_training_seeds_shows_mean_and_std(tiny_dataset, tmp_path, monkeypatch):
    from reactbench.reactdiff import ablation

    from reactbench.results import read_results

    runs, out = tmp_path / "runs", tmp_path / "out"
    variants = ("reactdiff", "reactdiff-no-diffusion")
    for k in (0, 1):
        for v in variants:
            _train_on(tiny_dataset, runs / f"{v}-small-seed{k}", v, seed=k)
    assert ablation.variant_checkpoint("reactdiff", "small", None, runs, 0) == (
        runs / "reactdiff-small-seed0" / "model.pt")  # never the shipped checkpoint
    monkeypatch.setattr(ablation, "train_job", lambda *a, **k: pytest.fail("trained"))
    records, table = ablation.ablate(variants=variants, preset="small", data=tiny_dataset,
                                     runs=runs, out=out, alpha=2, train_seeds=(0, 1),
                                     progress=False, log=lambda *a: None)
    assert len(records) == 4
    for k in (0, 1):
        assert len(read_results([out / f"train-seed{k}"])) == 2
    per_seed = {k: read_results([out / f"train-seed{k}"]) for k in (0, 1)}
    corr = [next(r for r in per_seed[k] if r["model"]["name"] == "reactdiff")["metrics"]
            ["FRCorr"]["value"] for k in (0, 1)]
    assert corr[0] != corr[1]  # two trainings, two models
    text = table.read_text()
    assert f"{np.mean(corr):.3f} ± {np.std(corr, ddof=1):.3f}" in text
    assert "standard deviation over 2 runs merged into the row" in text
    with pytest.raises(ModelError, match="--train-seeds .*distinct integers >= 0"):
        ablation.ablate(variants=variants, runs=runs, out=tmp_path / "o2", train_seeds=(1, 1))


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


def test_ablate_retrain_refuses_a_trained_run_instead_of_re_exporting_it(tiny_dataset, tmp_path,
                                                                       monkeypatch):
    # resuming a finished run only re-exports its model.pt: --retrain must not pretend
    from reactbench.reactdiff import ablation

    runs = tmp_path / "runs"
    _train_on(tiny_dataset, runs / "reactdiff-no-diffusion-small-seed1",
              "reactdiff-no-diffusion", seed=1)
    monkeypatch.setattr(ablation, "train_job", lambda *a, **k: pytest.fail("trained"))
    kw = dict(variants=("reactdiff-no-diffusion",), data=tiny_dataset, runs=runs, alpha=2,
              retrain=True, progress=False, log=lambda *a: None)
    with pytest.raises(ModelError, match=r"--retrain: .*reactdiff-no-diffusion-small-seed1 "
                                         r"already hold\(s\) a trained model.pt.*remove"):
        ablation.ablate(out=tmp_path / "out", train_seeds=(0, 1), **kw)
    assert not (tmp_path / "out").exists()
    # a variant without a trained run (seed 0) is trained, also under --retrain
    trained = []

    def train_job(v, **k):
        trained.append(k["out"])
        raise ModelError("stop after the first training")

    monkeypatch.setattr(ablation, "train_job", train_job)
    with pytest.raises(ModelError, match="stop after"):
        ablation.ablate(out=tmp_path / "out", train_seeds=(0,), **kw)
    assert trained == [runs / "reactdiff-no-diffusion-small-seed0"]


def test_ablate_refuses_a_run_whose_temperature_was_never_chosen(tiny_dataset, tmp_path):
    # training stopped after model.pt was written, before calibrate.py chose the temperature:
    # evaluated, the run would sample at 1.0 unlike the others
    from reactbench.reactdiff.ablation import ablate
    from reactbench.reactdiff.calibrate import calibrate
    from reactbench.reactdiff.job import load_training_splits
    from reactbench.reactdiff.train import train_reactdiff

    runs = tmp_path / "runs"
    cfg = tiny_config()
    cfg.train.temperatures = (0.5,)
    _, train, val, ids = load_training_splits(cfg, tiny_dataset, 120, progress=False)
    model = train_reactdiff(cfg, train, val, out=runs / "reactdiff-small", progress=False,
                            identities=ids)
    kw = dict(variants=("reactdiff",), data=tiny_dataset, runs=runs, out=tmp_path / "out",
              alpha=2, progress=False, log=lambda *a: None)
    with pytest.raises(ModelError, match=r"reactdiff-small.model.pt \(reactdiff\) has no sampling "
                                         r"temperature .*--out .*reactdiff-small --resume --data"):
        ablate(**kw)
    calibrate(model, cfg, train, val, "cpu", log=lambda *a: None)
    records, _ = ablate(**kw)
    assert len(records) == 1
