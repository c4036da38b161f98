"""Plug-in hooks (reactbench.plugins): ``reactbench train`` and ``reactbench ablate`` dispatch to
the hooks an installed plug-in provides, found through the ``reactbench.plugins`` entry points."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from reactbench import plugins
from reactbench.cli import main
from reactbench.commands.train import torchrun_command


def _fake_plugin(name: str, calls: list):
    """A hooks module with train and ablate hooks that record what they were called with."""
    def add_train(p):
        p.add_argument("--epochs", type=int, default=3, help="passes over the data")
        p.add_argument("--device", default="cpu")

    def add_ablate(p):
        p.add_argument("--parts", default="all", help="which parts to leave out")

    def run(kind):
        def go(args):
            calls.append((name, kind, {k: v for k, v in vars(args).items()
                                       if k not in ("func", "hook", "command", "argv")}))
            return 0
        return go

    return types.SimpleNamespace(
        TRAIN=plugins.CommandHook(help=f"train {name}", description=f"Train the {name} model.",
                                  add_arguments=add_train, run=run("train")),
        ABLATE=plugins.CommandHook(help=f"ablate {name}", description=f"{name} ablations.",
                                   add_arguments=add_ablate, run=run("ablate")))


class _EntryPoint:
    """What importlib.metadata returns for one ``reactbench.plugins`` entry point."""

    def __init__(self, name: str, module):
        self.name, self.value, self._module = name, f"{name}_pkg.hooks", module

    def load(self):
        return self._module


@pytest.fixture
def installed(monkeypatch):
    """Install fake hooks modules: ``installed({"acme": module, ...})``."""
    def install(modules: dict):
        eps = [_EntryPoint(n, m) for n, m in modules.items()]
        monkeypatch.setattr(plugins.metadata, "entry_points",
                            lambda group: eps if group == plugins.PLUGIN_GROUP else [])
    return install


def test_train_and_ablate_run_the_plugin_hooks(installed, capsys):
    calls: list = []
    installed({"acme": _fake_plugin("acme", calls)})
    assert main(["train", "--epochs", "5"]) == 0
    assert calls[-1] == ("acme", "train", {"epochs": 5, "device": "cpu", "gpus": 1})
    assert main(["ablate", "--parts", "audio"]) == 0
    assert calls[-1] == ("acme", "ablate", {"parts": "audio"})
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "Train the acme model." in out and "passes over the data (default: 3)" in out
    assert "--gpus" in out
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "train acme" in out and "ablate acme" in out


def test_without_a_plugin_the_commands_say_so(installed, capsys):
    installed({"plain": types.SimpleNamespace(MODEL_GROUPS={})})
    for command in ("train", "ablate"):
        assert main([command, "--epochs", "2"]) == 2
        err = capsys.readouterr().err
        assert f"no installed plug-in provides `reactbench {command}`" in err
        assert "reactbench.plugins" in err
    assert main(["train"]) == 2 and main(["ablate", "--help"]) == 2
    assert "no installed plug-in provides `reactbench ablate`" in capsys.readouterr().err


def test_several_plugins_are_chosen_by_name(installed, capsys):
    calls: list = []
    installed({"acme": _fake_plugin("acme", calls), "zeta": _fake_plugin("zeta", calls)})
    assert main(["train", "zeta", "--epochs", "7"]) == 0
    assert calls[-1][:2] == ("zeta", "train") and calls[-1][2]["epochs"] == 7
    assert main(["ablate", "acme"]) == 0
    assert calls[-1] == ("acme", "ablate", {"parts": "all", "plugin": "acme"})
    with pytest.raises(SystemExit) as exc:
        main(["train", "--epochs", "1"])  # which plug-in trains must be said
    assert exc.value.code == 2
    capsys.readouterr()


def test_torchrun_relaunch_keeps_the_chosen_plugin(installed):
    calls: list = []
    installed({"acme": _fake_plugin("acme", calls), "zeta": _fake_plugin("zeta", calls)})
    from reactbench.cli import build_parser

    args = build_parser().parse_args(["train", "zeta", "--epochs", "2", "--device", "cuda",
                                      "--gpus", "2"])
    cmd = torchrun_command(args)
    tail = cmd[cmd.index("reactbench.train") + 1:]
    assert tail == ["zeta", "--device", "cuda", "--epochs", "2"]


def test_a_hook_that_is_not_a_command_hook_is_ignored(installed, capsys):
    installed({"odd": types.SimpleNamespace(TRAIN=lambda args: 0)})
    with pytest.warns(UserWarning, match="'odd': TRAIN must be a reactbench.plugins.CommandHook"):
        assert main(["train"]) == 2
    assert "no installed plug-in provides" in capsys.readouterr().err


def test_reactdiff_provides_train_and_ablate():
    """Installed ReactDiff registers its hooks module; listing and help import no torch."""
    hooks = plugins.load_plugins()["reactdiff"]
    assert hooks.__name__ == "reactbench.reactdiff.hooks"
    assert plugins.command_hooks("train")["reactdiff"] is hooks.TRAIN
    assert plugins.command_hooks("ablate")["reactdiff"] is hooks.ABLATE
    code = ("import sys\nfrom reactbench.cli import build_parser\n"
            "from reactbench import registry\nbuild_parser(); registry.describe_models()\n"
            "registry.expand_models('reactdiff-ablation'); print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_the_global_traceback_flag_is_not_passed_to_a_hook(installed):
    # a hook may pass its flags on (the torchrun relaunch does): --traceback is reactbench's own
    calls: list = []
    installed({"acme": _fake_plugin("acme", calls)})
    assert main(["--traceback", "ablate", "--parts", "audio"]) == 0
    assert main(["ablate", "--parts", "video", "--traceback"]) == 0
    assert [c[2] for c in calls] == [{"parts": "audio"}, {"parts": "video"}]


def test_a_hook_keeps_a_traceback_flag_of_its_own(installed):
    calls: list = []
    hooks = _fake_plugin("acme", calls)

    def add(p):
        p.add_argument("--traceback", action="store_true", help="the hook's own meaning")

    hooks.ABLATE = plugins.CommandHook(help="h", description="d", add_arguments=add,
                                       run=hooks.ABLATE.run)
    installed({"acme": hooks})
    assert main(["ablate", "--traceback"]) == 0
    assert calls[-1][2] == {"traceback": True}
