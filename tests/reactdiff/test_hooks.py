"""ReactDiff's command hooks (models/reactdiff/hooks.py): ``reactbench train`` end to end on the
tiny synthetic dataset, its argument handling, and the train and ablate flags they provide."""

from __future__ import annotations

import json
import shutil

import pytest

from reactbench.cli import main
from reactbench.errors import ModelError

from .fakes import tiny_config


@pytest.fixture(scope="module")
def tiny_json(tmp_path_factory):
    cfg = tiny_config().to_dict()
    path = tmp_path_factory.mktemp("cfg") / "tiny.json"
    path.write_text(json.dumps({"model": {k: v for k, v in cfg["model"].items()
                                          if k != "streams"},
                                "train": cfg["train"]}))
    return path


def test_train_command_end_to_end(tiny_dataset, tiny_json, tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    rc = main(["train", "--model", "reactdiff", "--data", str(tiny_dataset), "--out", str(out),
               "--config", str(tiny_json), "--epochs", "1", "--no-progress"])
    assert rc == 0
    assert (out / "model.pt").is_file() and (out / "loss.png").is_file()
    assert "reactbench run --model reactdiff --model-arg checkpoint=" in capsys.readouterr().out
    from reactbench.reactdiff import checkpoint as ck

    ident = ck.read_checkpoint(out / "model.pt")["dataset"]
    assert set(ident) == {"train", "val"}  # the test split is never read
    rc = main(["train", "--model", "reactdiff", "--data", str(tiny_dataset), "--out", str(out),
               "--config", str(tiny_json)])
    assert rc == 2 and "--resume" in capsys.readouterr().err
    # stage 2 alone on the MMT of that model, into another folder
    out2 = tmp_path / "stage2"
    reads, read = [], ck.read_checkpoint
    monkeypatch.setattr(ck, "read_checkpoint", lambda p: reads.append(str(p)) or read(p))
    rc = main(["train", "--model", "reactdiff", "--data", str(tiny_dataset), "--out", str(out2),
               "--config", str(tiny_json), "--epochs", "1", "--no-progress", "--stage", "2",
               "--stage1-from", str(out / "model.pt")])
    assert rc == 0 and reads == [str(out / "model.pt")]  # checked early, read once
    assert read(out2 / "model.pt")["summary"]["stage1_from"] == str(out / "model.pt")
    for extra, said in ((["--stage", "all"], "use it with --stage 2"),
                        (["--stage", "2", "--stage1-from", str(tmp_path / "none.pt")],
                         "does not exist")):
        args = ["train", "--model", "reactdiff", "--out", str(tmp_path / "x"), *extra]
        if "--stage1-from" not in extra:
            args += ["--stage1-from", str(out / "model.pt")]
        assert main(args) == 2 and said in capsys.readouterr().err


def test_train_without_audio_files(tiny_dataset, tiny_json, tmp_path, capsys):
    data = tmp_path / "silent"  # the dataset without its splits' Audio_files folders
    shutil.copytree(tiny_dataset, data, ignore=shutil.ignore_patterns("Audio_files"))
    assert not list(data.glob("*/Audio_files")) and (data / "train").is_dir()
    rc = main(["train", "--model", "reactdiff", "--data", str(data), "--out",
               str(tmp_path / "o"), "--config", str(tiny_json), "--epochs", "1"])
    assert rc == 2 and "reactdiff-no-audio" in capsys.readouterr().err
    rc = main(["train", "--model", "reactdiff-no-audio", "--data", str(data), "--out",
               str(tmp_path / "o2"), "--config", str(tiny_json), "--epochs", "1",
               "--no-progress"])
    assert rc == 0


def test_bad_arguments(capsys):
    assert main(["train", "--model", "b_mime"]) == 2
    assert "baselines need no training" in capsys.readouterr().err
    assert main(["train", "--gpus", "2"]) == 2
    assert "--device cuda" in capsys.readouterr().err
    assert main(["train", "--gpus", "0"]) == 2
    assert "--gpus 0: expected the number of GPUs" in capsys.readouterr().err


def test_torchrun_command_line():
    import argparse

    from reactbench.commands.train import add_arguments, torchrun_command

    p = argparse.ArgumentParser()
    add_arguments(p)
    p.add_argument("--gpus", type=int)
    args = p.parse_args(["--device", "cuda", "--gpus", "4", "--resume", "--preset", "paper"])
    cmd = torchrun_command(args)
    assert "--nproc_per_node=4" in cmd and cmd[cmd.index("-m", 3) + 1] == "reactbench.train"
    assert "--resume" in cmd and "--gpus" not in cmd and cmd[cmd.index("--preset") + 1] == "paper"


def _flags(command: str) -> list[str]:
    """The option strings of ``reactbench <command>``, in --help order."""
    from reactbench.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return [s for a in sub.choices[command]._actions for s in a.option_strings]


def test_train_and_ablate_flags_come_from_the_reactdiff_hooks():
    """ReactDiff's hooks give ``train`` and ``ablate`` the flags they always had."""
    assert _flags("train") == [
        "-h", "--help", "--model", "--stage", "--preset", "--device", "--data", "--protocol",
        "--out", "--resume", "--seed", "--config", "--epochs", "--max-steps", "--precision",
        "--compile", "--half-export", "--frames", "--no-progress", "--stage1-from", "--gpus",
        "--traceback"]
    assert _flags("ablate") == [
        "-h", "--help", "--model", "--variants", "--preset", "--data", "--split", "--task",
        "--samples", "--seed", "--train-seeds", "--device", "--runs", "--retrain", "--epochs",
        "--out", "--no-progress", "--traceback"]


def test_ablate_variant_names():
    from reactbench.reactdiff.hooks import ABLATION_GROUP, variant_names

    assert variant_names(None) is None
    assert variant_names("full, no-mmt,reactdiff-lrs") == (
        "reactdiff", "reactdiff-no-mmt", "reactdiff-lrs")
    with pytest.raises(ModelError, match="--variants 'no-mmt,'"):
        variant_names("no-mmt,")
    assert ABLATION_GROUP == ("reactdiff", "reactdiff-no-mmt", "reactdiff-no-diffusion",
                              "reactdiff-no-video", "reactdiff-no-audio")
