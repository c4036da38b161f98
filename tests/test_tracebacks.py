"""Where a plug-in's exception happened: the last frame of the user's own code, shown relative to
the working directory, with the innermost frame when it lies in a library."""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path

import numpy as np
import torch
from reactbench.baselines.b_mime import BMime

from reactbench import registry, tracebacks
from reactbench.tracebacks import (
    exception_location,
    exception_summary,
    is_user_file,
    model_sources,
    shown_path,
)
from tests.helpers.failing_plugins import where, write_plugin

TORCH_LINEAR = r"torch/nn/modules/linear\.py:\d+"


def _raised(fn) -> BaseException:
    try:
        fn()
    except Exception as exc:
        return exc
    raise AssertionError("nothing raised")


def _generate(cls: str, folder: Path):
    model = registry.create_model(f"{write_plugin(folder)}:{cls}")
    speaker = type("Speaker", (), {"emotion": np.zeros((2, 5, 25), np.float32)})()
    return model, _raised(lambda: model.generate(speaker, alpha=2, seed=0))


def test_a_torch_error_names_the_users_line_and_the_torch_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, exc = _generate("InTorch", tmp_path)
    text = exception_location(exc, model_sources(model))
    assert re.fullmatch(re.escape(where("InTorch", "team_model.py")) + ", raised in "
                        + TORCH_LINEAR, text), text
    # the innermost frame alone is torch's: the old message would have named only it
    assert exc.__traceback__ is not None


def test_a_direct_raise_names_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, exc = _generate("Direct", tmp_path)
    assert exception_location(exc, model_sources(model)) == where("Direct", "team_model.py")


def test_a_file_outside_the_working_directory_is_named_in_full(tmp_path, monkeypatch):
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    (tmp_path / "team").mkdir()
    model, exc = _generate("Direct", tmp_path / "team")
    path = str((tmp_path / "team" / "team_model.py").resolve())
    assert exception_location(exc, model_sources(model)).startswith(f"at {path}:")


def test_without_a_frame_of_user_code_the_innermost_frame_is_named():
    exc = _raised(partial(json.loads, "{"))
    exc = exc.with_traceback(exc.__traceback__.tb_next)  # drop this test's own frame
    text = exception_location(exc)
    assert re.fullmatch(r"at json/decoder\.py:\d+ `.+`", text), text
    assert exception_location(exc, user_only=True) == ""
    assert exception_location(ValueError("never raised")) == ""


def test_a_syntax_error_names_its_own_file_and_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exc = _raised(lambda: compile("x = 1\ndef f(:\n    pass\n", str(tmp_path / "bad.py"),
                                  "exec"))
    assert exception_location(exc) == "at bad.py:2 `def f(:`"
    assert exception_summary(exc) == "SyntaxError: invalid syntax"
    assert exception_summary(KeyError("k")) == "KeyError: 'k'"
    assert exception_summary(RuntimeError()) == "RuntimeError"


def test_long_code_lines_are_shortened(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    long = "raise ValueError(" + repr("x" * 200) + ")"
    path = write_plugin(tmp_path, "long.py", f"def f():\n    {long}\n")
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    text = exception_location(_raised(namespace["f"]))
    code = text.split("`")[1]
    assert text.startswith("at long.py:2 `raise ValueError('xxx")
    assert len(code) == tracebacks.CODE_CHARS and code.endswith("...")


def test_library_and_user_files(tmp_path):
    mine = tmp_path / "mine.py"
    assert is_user_file(str(mine))
    for library in (torch.nn.modules.linear.__file__, json.__file__, np.__file__,
                    tracebacks.__file__, "<frozen importlib._bootstrap>"):
        assert not is_user_file(library), library
    installed = tmp_path / "venv" / "lib" / "site-packages" / "pkg" / "mod.py"
    assert not is_user_file(str(installed))
    # the model's own sources are the user's wherever they lie
    assert is_user_file(str(installed), (str(installed.parent),))
    assert is_user_file(torch.nn.modules.linear.__file__,
                        (str(Path(torch.nn.modules.linear.__file__).resolve()),))


def test_model_sources_are_its_file_and_its_package(tmp_path):
    path = write_plugin(tmp_path)
    cls = registry.resolve_model(f"{path}:InTorch")
    assert model_sources(cls) == (str(path.resolve()),)
    assert model_sources(cls()) == model_sources(cls)
    file, *folders = model_sources(BMime)
    assert Path(file).name == "b_mime.py"
    assert folders == [str(Path(file).parent)]  # reactbench.baselines, not reactbench
    assert model_sources(int) == ()


def test_shown_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert shown_path(str(tmp_path / "a" / "b.py")) == str(Path("a") / "b.py")
    assert shown_path("/elsewhere/x.py") == "/elsewhere/x.py"
    assert shown_path(torch.nn.modules.linear.__file__, library=True) == str(
        Path("torch") / "nn" / "modules" / "linear.py")
    assert shown_path("<string>") == "<string>"



def test_a_location_that_cannot_be_read_is_left_out(monkeypatch):
    exc = _raised(partial(json.loads, "{"))

    def unreadable(*args, **kwargs):
        raise OSError("gone")

    monkeypatch.setattr(tracebacks.os, "getcwd", unreadable)
    assert exception_location(exc).startswith("at /")  # no working directory: full paths
    monkeypatch.setattr(tracebacks.traceback, "extract_tb", unreadable)
    assert exception_location(exc) == ""
