"""leaderboards/synthetic/choose_ddim_steps.py: the shipped checkpoint's DDIM steps from its
val sweep."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

BOARD = Path(__file__).resolve().parents[2] / "leaderboards" / "synthetic"
_spec = importlib.util.spec_from_file_location("choose_ddim_steps", BOARD / "choose_ddim_steps.py")
choose = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(choose)


def test_the_shipped_checkpoint_holds_its_sweeps_choice(capsys):
    assert choose.main([]) == 0
    out = capsys.readouterr().out
    assert "10 steps: FRCorr 0.726, FRDist 93.43" in out and "<- chosen" in out
    assert "samples 10 steps, the sweep's choice" in out


def test_a_sweep_of_another_checkpoint_or_split_is_refused(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    shutil.copytree(BOARD / "ddim_steps", sweep)
    path = sweep / "reactdiff_offline_val_ddim5.json"
    doc = json.loads(path.read_text())
    doc["model"]["params"]["checkpoint_sha256"] = "0123456789abcdef"
    path.write_text(json.dumps(doc))
    assert choose.main(["--sweep", str(sweep)]) == 2
    assert "reactdiff_offline_val_ddim5.json: made on checkpoint 0123456789abcdef" in \
        capsys.readouterr().err
    doc["model"]["params"]["checkpoint_sha256"] = json.loads(
        (BOARD / "ddim_steps" / path.name).read_text())["model"]["params"]["checkpoint_sha256"]
    doc["split"] = "test"
    path.write_text(json.dumps(doc))
    assert choose.main(["--sweep", str(sweep)]) == 2
    assert "expected an offline val result, got offline test" in capsys.readouterr().err


def test_write_stores_the_choice_and_the_sweeps_checkpoint(tmp_path, capsys):
    from reactbench.reactdiff import checkpoint as ck
    from reactbench.reactdiff.calibrate import write_sampling

    path = tmp_path / "model.pt"
    shutil.copyfile(ck.SHIPPED, path)
    sweep_sha = ck.read_metadata(path)["sampling"]["ddim_steps_sweep"]
    write_sampling(path, 0.15, "by hand")  # drops the stored steps: the file no longer matches
    assert choose.main(["--checkpoint", str(path)]) == 2
    assert f"made on checkpoint {sweep_sha}, not on this file" in capsys.readouterr().err
