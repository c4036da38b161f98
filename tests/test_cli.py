"""The CLI dispatcher: help works, unknown commands fail, errors print cleanly (the whole
traceback with --traceback)."""

import argparse

import pytest

from reactbench import __version__, registry
from reactbench.cli import build_parser, main
from reactbench.data import synthetic
from reactbench.errors import ModelError, ReactbenchError
from reactbench.metrics import fid


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "COMMAND" in out


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert main([]) == 1
    assert "usage" in capsys.readouterr().out


def test_unknown_command_fails():
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["no-such-command"])
    assert exc.value.code == 2


@pytest.mark.parametrize(("argv", "needle"), [
    (["run", "--model", "b_mime", "--seed", "0,"], "--seed expects integers"),
    (["run", "--model", "b_mime", "--seed", "0,,1"], "no empty items"),
    (["run", "--model", "b_mime", "--metrics", ""], "--metrics names no metric"),
    (["run", "--model", "b_mime", "--metrics", "FRCorr,"], "has an empty item"),
    (["run", "--model", "b_mime", "--out", ""], "--out '': expected a folder path"),
    (["score", "--predictions", "p.npz", "--out", " "], "--out ' ': expected a folder path"),
    (["train", "--model", "reactdiff", "--out", ""], "--out '': expected a folder path"),
])
def test_empty_flag_values_are_refused_not_defaulted(argv, needle, capsys, tmp_path,
                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # nothing fell back to the default folder


def test_data_check_uses_the_frames_run_loads():
    from reactbench.constants import DEFAULT_FRAMES

    for cmd in ("check", "summary"):
        args = build_parser().parse_args(["data", cmd] + (["x"] if cmd == "check" else []))
        assert args.frames == DEFAULT_FRAMES == build_parser().parse_args(
            ["run", "--model", "b_mime"]).frames


@pytest.mark.parametrize(("call", "argv", "library", "command_line"), [
    (lambda tmp: synthetic.generate(tmp / "d", frames=5),
     ["data", "synth", "--out", "d", "--frames", "5"],
     "frames=5: expected at least 100 frames (4 s at 25 fps)",
     "reactbench data: error: --frames 5: expected at least 100 frames (4 s at 25 fps)"),
    (lambda tmp: fid.image_fid(tmp / "a", tmp / "b", batch_size=0),
     ["fid", "a", "b", "--batch-size", "0"],
     "batch_size: expected a positive integer, got 0",
     "reactbench fid: error: --batch-size: expected a positive integer, got 0"),
    (lambda tmp: registry.parse_model_args(["gain"], ["b_mime"]),
     ["run", "--model", "b_mime", "--model-arg", "gain"],
     "model_args='gain': expected [MODEL@]key=value",
     "reactbench run: error: --model-arg 'gain': expected [MODEL@]key=value"),
])
def test_library_errors_name_parameters_and_the_cli_shows_flags(call, argv, library,
                                                                command_line, capsys, tmp_path,
                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ReactbenchError) as exc:
        call(tmp_path)
    assert str(exc.value) == library
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == command_line
    assert not (tmp_path / "d").exists() and not (tmp_path / "runs").exists()


def _commands(parser, path=()) -> list[tuple[list[str], argparse.ArgumentParser]]:
    """(command path, its parser) for every command of ``parser`` and theirs (``["run"]``,
    ``["data"]``, ``["data", "synth"]``, ...)."""
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    children = sub.choices.items() if sub is not None else ()
    return [(list(path), parser)] + [c for name, child in children
                                     for c in _commands(child, (*path, name))]


def test_traceback_is_accepted_before_and_after_every_command():
    parser = build_parser()
    commands = _commands(parser)
    assert {"run", "score", "leaderboard", "data synth", "train"} <= {
        " ".join(path) for path, _ in commands}
    for path, p in commands:
        assert "--traceback" in p._option_string_actions, path
    for argv in (["run", "--model", "b_mime"], ["data", "summary"], ["leaderboard", "x.json"]):
        assert parser.parse_args(argv).reactbench_traceback is False
        assert parser.parse_args(["--traceback", *argv]).reactbench_traceback is True
        assert parser.parse_args([*argv, "--traceback"]).reactbench_traceback is True
        middle = [*argv[:1], "--traceback", *argv[1:]]
        assert parser.parse_args(middle).reactbench_traceback is True


def test_traceback_prints_the_chained_traceback_of_an_error(capsys, monkeypatch):
    from reactbench.commands import leaderboard

    def fail(args):
        try:
            {}["missing"]
        except KeyError as exc:
            raise ModelError("model 'm' raised KeyError: 'missing'") from exc

    monkeypatch.setattr(leaderboard, "main", fail)
    assert main(["leaderboard", "x.json"]) == 2
    err = capsys.readouterr().err
    assert err == ("reactbench leaderboard: error: model 'm' raised KeyError: 'missing' "
                   "(--traceback shows the whole traceback)\n")
    assert main(["leaderboard", "x.json", "--traceback"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):\n")
    assert "KeyError: 'missing'\n\nThe above exception was the direct cause" in err
    assert 'test_cli.py", line' in err and "{}[\"missing\"]" in err
    assert err.endswith("reactbench leaderboard: error: model 'm' raised KeyError: "
                        "'missing'\n")
