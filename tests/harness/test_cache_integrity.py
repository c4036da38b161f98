"""Cached predictions are trusted by content, not by file name: a cache file swapped in from
another model (its stored key differs) or edited in place (its content digest differs) is
regenerated, so a model never shows another model's numbers. Default results folders are
unique even for two runs started in the same second."""

from __future__ import annotations

import shutil

from reactbench.commands._common import default_out_dir
from reactbench.predictions import load_saved, save_predictions
from tests.helpers.quick_runs import run_args
from tests.helpers.runs import results_in


def _run(cli, data, out):
    code, text, err = cli(*run_args(data, out, "--model", "b_random,b_mime"))
    assert code == 0, err
    return text, results_in(out)


def _path(rec):
    return rec["predictions"][0]["path"]


def test_a_swapped_cache_file_is_regenerated(tiny_dataset, tmp_path, cli, fresh_cache):
    _, first = _run(cli, tiny_dataset, tmp_path / "a")
    rnd, mime = first["b_random"], first["b_mime"]
    assert rnd["metrics"] != mime["metrics"]
    shutil.copyfile(_path(rnd), _path(mime))  # b_random's reactions under b_mime's name
    text, again = _run(cli, tiny_dataset, tmp_path / "b")
    assert again["b_mime"]["metrics"] == mime["metrics"]
    assert not again["b_mime"]["predictions"][0]["reused"]
    assert again["b_random"]["predictions"][0]["reused"]
    # healed: b_mime's own reactions are back in its cache file, and reused next time
    _, third = _run(cli, tiny_dataset, tmp_path / "c")
    assert third["b_mime"]["predictions"][0]["reused"]


def test_an_edited_cache_file_is_regenerated(tiny_dataset, tmp_path, cli, fresh_cache):
    _, first = _run(cli, tiny_dataset, tmp_path / "a")
    mime = first["b_mime"]
    path = _path(mime)
    preds, meta = load_saved(path)
    preds.emotion[0, :, :20] = 0.0  # same key, other reactions, in the plain format
    save_predictions(path, preds, meta, packed=False)
    _, again = _run(cli, tiny_dataset, tmp_path / "b")
    assert again["b_mime"]["metrics"] == mime["metrics"]
    assert not again["b_mime"]["predictions"][0]["reused"]


def test_default_results_folders_are_unique_within_a_second(tmp_path):
    base = tmp_path / "runs"
    made = [default_out_dir(str(base)) for _ in range(5)]  # well within one second
    assert len(set(made)) == 5 and all(p.is_dir() for p in made)
    assert made[1].name == f"{made[0].name}-1"
