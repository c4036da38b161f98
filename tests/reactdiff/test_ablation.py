"""``reactbench ablate`` through ReactDiff's ablation hook (models/reactdiff/ablation.py): flags
checked before training, the variants, the tables over results and training seeds, and runs it
refuses to reuse."""

from __future__ import annotations

import numpy as np
import pytest
from reactbench.reactdiff import checkpoint as ck

from reactbench.cli import main as cli
from reactbench.errors import ModelError

from .fakes import tiny_config


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


def test_ablate_passes_its_command_line_to_the_results(tmp_path, monkeypatch):
    from reactbench.reactdiff import ablation

    seen = {}

    def stop(variants, **kw):
        seen.update(kw)
        raise ModelError("stop")

    monkeypatch.setattr(ablation, "ablate", stop)
    argv = ["ablate", "--variants", "no-mmt", "--samples", "2", "--out", str(tmp_path / "o")]
    assert cli(argv) == 2
    assert seen["command"] == ["reactbench", *argv]


def _short_schedule(variant="reactdiff"):
    """tiny_config with a 4-step diffusion schedule: these tests are about the tables and the
    runs ablate reuses or refuses, not the sampler, and each evaluation samples every window
    through the whole schedule."""
    cfg = tiny_config(variant)
    cfg.model.diffusion_steps = 4
    return cfg


def _train_on(dataset, out, variant, preset="small", seed=0):
    from reactbench.reactdiff.job import load_training_splits
    from reactbench.reactdiff.train import train_reactdiff

    cfg = _short_schedule(variant)
    cfg.preset = preset
    _, train, val, ids = load_training_splits(cfg, dataset, 120, progress=False)
    return train_reactdiff(cfg, train, val, out=out, progress=False, identities=ids, seed=seed)


@pytest.fixture(scope="module")
def train_run(tiny_dataset, tmp_path_factory):
    """``train_run(out, variant, preset="small", seed=0)``: a finished run of ``_train_on`` in
    folder ``out``, copied from this module's run of the same (variant, preset, seed) (trained
    on ``tiny_dataset`` on first use; a run folder holds no path of its own)."""
    import shutil  # copies of the module's trained runs

    store = tmp_path_factory.mktemp("ablation-runs")

    def train_run(out, variant, preset="small", seed=0):
        done = store / f"{variant}-{preset}-{seed}"
        if not done.is_dir():
            _train_on(tiny_dataset, done, variant, preset=preset, seed=seed)
        shutil.copytree(done, out)

    return train_run


def test_ablate_table_covers_every_result_and_one_preset(tiny_dataset, tmp_path, monkeypatch,
                                                         train_run):
    from reactbench.reactdiff.ablation import ablate

    from reactbench.results import edited, read_results

    runs, out = tmp_path / "runs", tmp_path / "out"
    for v in ("reactdiff", "reactdiff-no-diffusion", "reactdiff-no-audio"):
        train_run(runs / f"{v}-small", v)
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
    command = ["reactbench", "ablate", "--variants", "no-audio"]
    records, table = ablate(variants=("reactdiff-no-audio",),
                            **{**kw, "log": said.append, "command": command})
    assert len(records) == 1 and len(read_results([out])) == 3
    # the command line is recorded (and sealed by the digest); from the library, null
    by_model = {r["model"]["spec"]: r for r in read_results([out])}
    assert by_model["reactdiff-no-audio"]["command"] == command
    assert by_model["reactdiff"]["command"] is None
    assert not any(edited(r) for r in by_model.values())
    text = table.read_text()
    assert "(w/o) Diffusion" in text and "(w/o) Audio" in text and "ReactDiff" in text
    assert any("rebuilt from all 3 result files" in s for s in said)
    train_run(runs / "reactdiff-lrs-small", "reactdiff-lrs", preset="paper")
    with pytest.raises(ModelError, match="trained with the 'paper' preset, not 'small'"):
        ablate(variants=("reactdiff-lrs",), **kw)


def test_ablate_over_training_seeds_shows_mean_and_std(tiny_dataset, tmp_path, monkeypatch,
                                                       train_run):
    from reactbench.reactdiff import ablation

    from reactbench.results import read_results

    runs, out = tmp_path / "runs", tmp_path / "out"
    variants = ("reactdiff", "reactdiff-no-diffusion")
    for k in (0, 1):
        for v in variants:
            train_run(runs / f"{v}-small-seed{k}", v, seed=k)
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
    with pytest.raises(ModelError, match="train_seeds=.*distinct integers >= 0"):
        ablation.ablate(variants=variants, runs=runs, out=tmp_path / "o2", train_seeds=(1, 1))


def test_ablate_retrain_refuses_a_trained_run_instead_of_re_exporting_it(tiny_dataset, tmp_path,
                                                                       monkeypatch, train_run):
    # resuming a finished run only re-exports its model.pt: --retrain must not pretend
    from reactbench.reactdiff import ablation

    runs = tmp_path / "runs"
    train_run(runs / "reactdiff-no-diffusion-small-seed1", "reactdiff-no-diffusion", seed=1)
    monkeypatch.setattr(ablation, "train_job", lambda *a, **k: pytest.fail("trained"))
    kw = dict(variants=("reactdiff-no-diffusion",), data=tiny_dataset, runs=runs, alpha=2,
              retrain=True, progress=False, log=lambda *a: None)
    with pytest.raises(ModelError, match=r"retrain: .*reactdiff-no-diffusion-small-seed1 "
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
    cfg = _short_schedule()
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
