"""The predictions cache (reactbench.harness.cache): keys, reuse and regeneration."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.data import load_split
from reactbench.errors import ModelError
from reactbench.harness.cache import content_digest, load_cached
from reactbench.predictions import Predictions, load_predictions, save_predictions
from reactbench.results import read_result
from tests.helpers import runs
from tests.helpers.quick_runs import PLUGINS, run_args
from tests.helpers.runs import score_args


@pytest.fixture(scope="module")
def split(tiny_dataset):
    return load_split(tiny_dataset, "test", audio=False)


def test_cached_predictions_never_cross_models_or_options(tiny_dataset, tmp_path, cli,
                                                          fresh_cache):
    """Two classes sharing a ModelInfo name and version, and one option the model leaves out
    of its params, each get their own predictions."""
    values = {}
    for i, (cls, extra) in enumerate([("Scaled", ["--model-arg", "gain=1.0"]),
                                      ("Scaled", ["--model-arg", "gain=0.2"]),
                                      ("Halved", [])]):
        out = tmp_path / str(i)
        code, text, err = cli(*run_args(tiny_dataset, out, "--model", f"{PLUGINS}:{cls}",
                                        *extra))
        assert code == 0, err
        assert "reusing cached predictions" not in text
        rec = read_result(next(out.glob("*.json")))
        values[i] = load_predictions(rec["predictions"][0]["path"]).emotion
    assert not np.allclose(values[0], values[1]) and not np.allclose(values[0], values[2])
    # the same run again reuses its own predictions
    code, text, _ = cli(*run_args(tiny_dataset, tmp_path / "again", "--model",
                                  f"{PLUGINS}:Halved"))
    assert code == 0 and "reusing cached predictions" in text


def test_predictions_are_cached_not_regenerated(tiny_dataset, tmp_path, cli, fresh_cache):
    args = ("--model", f"{runs.PLUGINS}:WithOptions", "--model-arg", "gain=0.5")
    code, out, err = cli(*runs.run_args(tiny_dataset, tmp_path / "a", *args))
    assert code == 0, err
    assert "reusing cached" not in out
    code, out2, err = cli(*runs.run_args(tiny_dataset, tmp_path / "b", *args))
    assert code == 0, err
    assert "reusing cached predictions" in out2
    a, b = (runs.results_in(tmp_path / d)["with_options"] for d in "ab")
    assert not a["predictions"][0]["reused"] and b["predictions"][0]["reused"]
    assert a["metrics"] == b["metrics"]
    assert a["model"]["params"] == {"gain": 0.5}
    # another protocol re-scores the same predictions
    code, out4, err = cli(*runs.run_args(tiny_dataset, tmp_path / "d", *args, "--protocol",
                                         "corrected"))
    assert code == 0, err
    assert "reusing cached predictions" in out4
    # another parameter value is another cache entry
    code, out3, _ = cli(*runs.run_args(tiny_dataset, tmp_path / "c", "--model",
                                       f"{runs.PLUGINS}:WithOptions", "--model-arg", "gain=0.25"))
    assert code == 0 and "reusing cached" not in out3


# ----------------------------------------------------------------------------- cache identity
OFFSET_PLUGIN = '''
import hashlib
from pathlib import Path

import numpy as np

from reactbench.models import BaseReactionModel, ModelInfo, Reactions


class FromFile(BaseReactionModel):
    """Scales the speaker by a number read from a file that only the model knows about."""

    needs_train = False
    needs_audio = False

    def __init__(self, scale_file, hook="true"):
        self.file = Path(scale_file)
        self.hook = hook == "true"
        self.info = ModelInfo(name="from_file", version="1",
                              trained_on={"train": {"split": "train", "content_hash": "abc"}})

    def cache_identity(self, data):
        if not self.hook:
            return None
        return {"scale_sha256": hashlib.sha256(self.file.read_bytes()).hexdigest(),
                "n": data.n}

    def generate(self, speaker, *, alpha, seed):
        scale = float(self.file.read_text())
        emo = np.repeat(speaker.emotion[:, None], alpha, axis=1) * scale
        return Reactions(emotion=emo.astype(np.float32))


class Bad(FromFile):
    def cache_identity(self, data):
        return {"when": float("nan")}


class Plain(BaseReactionModel):
    needs_train = False
    needs_audio = False
'''


def run_file_model(cli, data, out, plugin, scale_file, cls="FromFile", *extra):
    return cli("run", "--data", str(data), "--samples", "2", "--out", str(out), "--no-progress",
               "--jobs", "1", "--metrics", "FRCorr", "--model", f"{plugin}:{cls}",
               "--model-arg", f"scale_file={scale_file}", *extra)


def test_cache_identity_hook_regenerates_when_model_inputs_change(tiny_dataset, tmp_path, cli,
                                                                  fresh_cache):
    """Inputs a plug-in reads itself (cache_identity) are part of the predictions cache key:
    a changed input file is generated again, not answered with stale predictions."""
    plugin = tmp_path / "from_file.py"
    plugin.write_text(OFFSET_PLUGIN)
    scale = tmp_path / "scale.txt"
    scale.write_text("0.5")
    preds = {}
    for run, (value, reused) in enumerate([("0.5", False), ("0.5", True), ("0.25", False)]):
        scale.write_text(value)
        out = tmp_path / f"r{run}"
        code, text, err = run_file_model(cli, tiny_dataset, out, plugin, scale)
        assert code == 0, err
        assert ("reusing cached predictions" in text) is reused
        rec = read_result(next(out.glob("*.json")))
        assert rec["predictions"][0]["reused"] is reused
        preds[run] = load_predictions(rec["predictions"][0]["path"]).emotion
    np.testing.assert_allclose(preds[2], preds[0] * 0.5, atol=1e-6)
    # ModelInfo.trained_on is recorded in the result's model section
    assert rec["model"]["trained_on"] == {"train": {"split": "train", "content_hash": "abc"}}
    code, _, err = run_file_model(cli, tiny_dataset, tmp_path / "bad", plugin, scale, "Bad")
    assert code != 0 and "cache_identity()" in err and "not a finite number" in err
    # without the cache the hook is not called (hashing a model's inputs can be slow)
    code, _, err = run_file_model(cli, tiny_dataset, tmp_path / "nc", plugin, scale, "Bad",
                                  "--no-cache")
    assert code == 0, err


def test_cache_identity_is_optional_and_keeps_old_keys(split, tmp_path):
    """Models without the hook (or returning None) keep the key they had before it existed."""
    import importlib.util

    from reactbench.harness import model_code
    from reactbench.models import ModelInfo, model_info

    plugin = tmp_path / "from_file_keys.py"
    plugin.write_text(OFFSET_PLUGIN)
    spec = importlib.util.spec_from_file_location("from_file_keys", plugin)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    (tmp_path / "s.txt").write_text("1")
    plain = mod.Plain()
    assert model_code(plain, {}, split) == model_code(plain, {})
    assert "inputs" not in model_code(plain, {}, split)
    off = mod.FromFile(tmp_path / "s.txt", hook="false")
    assert "inputs" not in model_code(off, {}, split)
    on = mod.FromFile(tmp_path / "s.txt")
    assert model_code(on, {}, split)["inputs"]["n"] == split.n
    for bad in ("x", {"a": float("inf")}):
        with pytest.raises(ModelError, match="trained_on"):
            model_info(type("M", (), {"info": ModelInfo(name="m", trained_on=bad)})())


# ----------------------------------------------------------------------------- storage
def _random_preds(seed: int, n: int = 4, alpha: int = 3, frames: int = 40) -> Predictions:
    """Random predictions whose AU columns 0-8 are binary and 9-14 are not."""
    rng = np.random.default_rng(seed)
    emo = rng.random((n, alpha, frames, 25), dtype=np.float32)
    emo[..., :9] = rng.random((n, alpha, frames, 9)) < 0.2
    emo[..., 10] = np.round(emo[..., 10])  # 0/1 values ...
    emo[seed % n, 0, 0, 10] = -0.0  # ... and one -0.0: not stored as bits, still exact
    face = rng.normal(size=(n, alpha, frames, 58)).astype(np.float32)
    return Predictions(emotion=emo, face_3dmm=face, speaker_ids=[f"s{i}" for i in range(n)])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_cached_predictions_read_back_bit_identical(tmp_path, seed):
    preds = _random_preds(seed)
    meta = {"key": "k", "content_sha256": content_digest(preds)}
    path = save_predictions(tmp_path / "p.npz", preds, meta)
    got, back = load_cached(path, 4, 3, 40, "k")
    assert back == meta and got.speaker_ids == preds.speaker_ids
    for a, b in ((got.emotion, preds.emotion), (got.face_3dmm, preds.face_3dmm)):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))
    assert content_digest(got) == meta["content_sha256"]


@pytest.mark.parametrize("packed", [True, False])
def test_cache_files_of_both_forms_are_read_and_bad_ones_are_misses(tmp_path, packed):
    """Plain files (``emotion`` float32, the form older runs cached) are reused like packed
    ones; NaN/inf, another key, another shape or a damaged file is a miss (regenerate)."""
    preds = _random_preds(0)
    meta = {"key": "k", "content_sha256": content_digest(preds)}
    path = save_predictions(tmp_path / "p.npz", preds, meta, packed=packed)
    assert load_cached(path, 4, 3, 40, "k") is not None
    assert load_cached(path, 4, 3, 40, "other") is None
    assert load_cached(path, 4, 3, 41, "k") is None
    assert load_cached(tmp_path / "missing.npz", 4, 3, 40, "k") is None
    for bad in (np.nan, np.inf):
        emo = preds.emotion.copy()
        emo[1, 2, 3, 20] = bad
        stored = Predictions(emo, preds.face_3dmm, preds.speaker_ids)
        nan = save_predictions(tmp_path / "nan.npz", stored,
                               {"key": "k", "content_sha256": content_digest(stored)},
                               packed=packed)
        assert load_cached(nan, 4, 3, 40, "k") is None
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert load_cached(path, 4, 3, 40, "k") is None


def test_a_cached_file_rescored_gives_the_same_numbers(tiny_dataset, tmp_path, cli,
                                                       fresh_cache):
    """The file a run cached (packed) scores to the same values with ``reactbench score``."""
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "r", "--model", "b_nn"))
    assert code == 0, err
    rec = read_result(next((tmp_path / "r").glob("*.json")))
    path = rec["predictions"][0]["path"]
    with np.load(path) as z:
        assert "layout" in z.files and "emotion.bits" in z.files  # b_nn copies binary AUs
    code, _, err = cli(*score_args(tiny_dataset, path, tmp_path / "s", "--name", "again",
                                   "--metrics", "FRCorr,FRDist"))
    assert code == 0, err
    again = read_result(next((tmp_path / "s").glob("*.json")))
    assert {k: e["value"] for k, e in again["metrics"].items()} == \
        {k: e["value"] for k, e in rec["metrics"].items()}


# ----------------------------------------------------------------------------- code identity
SIBLING_PLUGIN = '''
import numpy as np
import team_scale_helper

from reactbench.models import BaseReactionModel, ModelInfo, Reactions


class Scaled(BaseReactionModel):
    needs_train = False
    needs_audio = False

    def __init__(self):
        self.info = ModelInfo(name="sibling_scaled", version="1")

    def generate(self, speaker, *, alpha, seed):
        emo = np.repeat(speaker.emotion[:, None], alpha, axis=1) * team_scale_helper.SCALE
        return Reactions(emotion=emo.astype(np.float32))
'''


def test_editing_a_module_beside_a_plugin_file_generates_again(tiny_dataset, tmp_path, cli,
                                                                fresh_cache):
    folder = tmp_path / "team"
    folder.mkdir()
    (folder / "team_model.py").write_text(SIBLING_PLUGIN)
    helper = folder / "team_scale_helper.py"
    helper.write_text("SCALE = 0.5\n")
    (folder / "notes.py").write_text("# not imported by the plug-in\n")
    spec = f"{folder / 'team_model.py'}:Scaled"

    def run(name: str) -> str:
        code, out, err = cli(*run_args(tiny_dataset, tmp_path / name, "--model", spec))
        assert code == 0, err
        return out

    assert "reusing cached" not in run("a")
    (folder / "notes.py").write_text("# edited, still not imported\n")
    assert "reusing cached predictions" in run("b")
    helper.write_text("SCALE = 0.25  # edited\n")
    assert "reusing cached" not in run("c")


def _package(root, helper: str) -> type:
    """A plug-in package ``teampkg_cache`` under ``root`` (model in one module, a helper in
    another); returns its model class."""
    import importlib
    import sys

    pkg = root / "teampkg_cache"
    (pkg / "nested").mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "model.py").write_text("class Model:\n    def generate(self):\n        pass\n")
    (pkg / "nested" / "__init__.py").write_text("")
    (pkg / "nested" / "helper.py").write_text(helper)
    (pkg / "data.txt").write_text("not code")
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module("teampkg_cache.model").Model
    finally:
        sys.path.remove(str(root))


def test_a_packaged_plugins_code_digest_covers_its_whole_package(tmp_path):
    from reactbench.harness.cache import code_digest, code_files

    cls = _package(tmp_path, "X = 1\n")
    files = {p.relative_to(tmp_path.resolve()).as_posix() for p in code_files(cls)}
    assert files == {"teampkg_cache/__init__.py", "teampkg_cache/model.py",
                     "teampkg_cache/nested/__init__.py", "teampkg_cache/nested/helper.py"}
    first = code_digest(cls)
    (tmp_path / "teampkg_cache" / "data.txt").write_text("edited, not code")
    assert code_digest(cls) == first
    (tmp_path / "teampkg_cache" / "nested" / "helper.py").write_text("X = 2\n")
    assert code_digest(cls) != first


def test_installed_modules_beside_a_plugin_file_are_not_its_code(tmp_path, monkeypatch):
    import importlib
    import sys

    from reactbench.harness.cache import code_files
    from reactbench.registry import resolve_model

    installed = tmp_path / "venv" / "site-packages"
    installed.mkdir(parents=True)
    (installed / "some_installed_lib.py").write_text("Y = 1\n")
    monkeypatch.syspath_prepend(str(installed))
    importlib.import_module("some_installed_lib")
    (tmp_path / "local_helper_for_cache.py").write_text("Z = 1\n")
    (tmp_path / "plug.py").write_text(
        "import local_helper_for_cache\nimport some_installed_lib\n\n\n"
        "class Model:\n    def generate(self):\n        pass\n")
    try:
        cls = resolve_model(f"{tmp_path / 'plug.py'}:Model")
        names = {p.name for p in code_files(cls)}
    finally:
        for name in ("some_installed_lib", "local_helper_for_cache"):
            sys.modules.pop(name, None)
    assert names == {"plug.py", "local_helper_for_cache.py"}
