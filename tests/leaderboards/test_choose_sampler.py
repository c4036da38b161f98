"""leaderboards/synthetic/choose_sampler.py: the shipped checkpoint's sampler from its val
sweep."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

BOARD = Path(__file__).resolve().parents[2] / "leaderboards" / "synthetic"
_spec = importlib.util.spec_from_file_location("choose_sampler", BOARD / "choose_sampler.py")
choose = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(choose)


def test_the_shipped_checkpoint_holds_its_sweeps_choice(capsys):
    from reactbench.reactdiff import checkpoint as ck
    from reactbench.reactdiff.calibrate import sampler_label

    assert choose.main([]) == 0
    out = capsys.readouterr().out
    stored = ck.read_metadata(ck.SHIPPED)["sampling"]
    label = sampler_label({**stored, "timesteps": stored.get("timesteps")})
    assert f"samples {label}, the sweep's choice" in out
    (line,) = [x for x in out.splitlines() if "<- chosen" in x]
    assert line.split()[:2] == label.split()
    assert stored["ddim_steps"] <= choose.BUDGET and "(over the budget)" in out


def test_a_sweep_of_another_checkpoint_or_split_is_refused(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    shutil.copytree(BOARD / "sampler", sweep)
    path = sorted(sweep.glob("*.json"))[0]
    doc = json.loads(path.read_text())
    made_on = doc["model"]["params"]["checkpoint_sha256"]
    doc["model"]["params"]["checkpoint_sha256"] = "0123456789abcdef"
    path.write_text(json.dumps(doc))
    assert choose.main(["--sweep", str(sweep)]) == 2
    assert f"{path.name}: made on checkpoint 0123456789abcdef" in capsys.readouterr().err
    doc["model"]["params"]["checkpoint_sha256"] = made_on
    doc["split"] = "test"
    path.write_text(json.dumps(doc))
    assert choose.main(["--sweep", str(sweep)]) == 2
    assert "expected an offline val result, got offline test" in capsys.readouterr().err


def test_write_stores_the_choice_and_the_sweeps_checkpoint(tmp_path, capsys):
    from reactbench.reactdiff import checkpoint as ck
    from reactbench.reactdiff.calibrate import write_sampling

    path = tmp_path / "model.pt"
    shutil.copyfile(ck.SHIPPED, path)
    stored = ck.read_metadata(path)["sampling"]
    assert choose.main(["--checkpoint", str(path), "--write"]) == 0  # the same choice again
    assert ck.read_metadata(path)["sampling"] == stored
    assert choose.main(["--checkpoint", str(path)]) == 0
    write_sampling(path, 0.15, "by hand")  # drops the stored sampler: the file no longer matches
    assert choose.main(["--checkpoint", str(path)]) == 2
    assert f"made on checkpoint {stored['sampler_sweep']}, not on this file" in \
        capsys.readouterr().err
