"""Model registry: built-ins, groups, entry points, module:Class and file.py:Class specs."""

from __future__ import annotations

import importlib
import sys
import time
import types
from pathlib import Path

import pytest

from reactbench import plugins, registry
from reactbench.errors import ModelError
from reactbench.registry import parse_model_args
from tests.helpers.runs import ODD_PLUGINS, PLUGINS


def test_listing_is_instant_and_imports_no_model():
    before = set(sys.modules)
    t0 = time.perf_counter()
    text = registry.describe_models()
    assert time.perf_counter() - t0 < 1.0
    assert "reactdiff-no-audio" in text and "reactbench.reactdiff.plugin:ReactDiffNoAudio" in text
    assert "reactdiff-ablation" in text  # a group the ReactDiff plug-in declares
    # the plug-in's light hooks module is read for its groups; no model module is imported
    hooks = {"reactbench.reactdiff", "reactbench.reactdiff.hooks"}
    assert not any(m.startswith(("reactbench.reactdiff", "reactbench.baselines.")) for m in
                   set(sys.modules) - before - hooks)


def test_reactdiff_names_are_lazy_strings():
    want = {"reactdiff": "ReactDiff", "reactdiff-no-mmt": "ReactDiffNoMMT",
            "reactdiff-no-diffusion": "ReactDiffNoDiffusion", "reactdiff-no-video":
            "ReactDiffNoVideo", "reactdiff-no-audio": "ReactDiffNoAudio",
            "reactdiff-lrs": "ReactDiffLRS"}
    for name, cls in want.items():
        assert registry.available_models()[name] == f"reactbench.reactdiff.plugin:{cls}"


def test_reactdiff_registers_through_the_entry_point_like_a_third_party():
    """The core registry names no ReactDiff model; the names come from the installed
    package's ``reactbench.models`` entry points, the group from its hooks module."""
    assert not any("reactdiff" in n or "reactdiff" in t
                   for n, t in registry.BUILTIN_MODELS.items())
    assert set(registry.MODEL_GROUPS) == {"baselines"}
    eps = registry.entry_point_models()
    assert {n for n in eps if n.startswith("reactdiff")} == {
        "reactdiff", "reactdiff-no-mmt", "reactdiff-no-diffusion", "reactdiff-no-video",
        "reactdiff-no-audio", "reactdiff-lrs"}
    assert registry.expand_models("reactdiff-ablation") == [
        "reactdiff", "reactdiff-no-mmt", "reactdiff-no-diffusion", "reactdiff-no-video",
        "reactdiff-no-audio"]


def test_without_the_plugin_its_names_and_group_are_unknown(monkeypatch):
    monkeypatch.setattr(registry, "entry_point_models", lambda: {})
    monkeypatch.setattr(registry, "plugin_groups", lambda: {})
    assert "reactdiff" not in registry.available_models()
    with pytest.raises(ModelError, match="unknown model 'reactdiff'"):
        registry.expand_models("reactdiff")
    with pytest.raises(ModelError, match="unknown model 'reactdiff-ablation'"):
        registry.expand_models("reactdiff-ablation")
    assert registry.expand_models("baselines")[0] == "b_random"


def test_plugin_groups_come_from_hooks_modules(monkeypatch):
    """A hooks module's MODEL_GROUPS expand under --model; a built-in group name wins, a
    malformed declaration is ignored with a warning."""
    good = types.SimpleNamespace(MODEL_GROUPS={"acme-all": ("b_mime", "gt"),
                                               "baselines": ("b_mime",)})
    bad = types.SimpleNamespace(MODEL_GROUPS={"broken": "b_mime"})
    monkeypatch.setattr(plugins, "load_plugins", lambda: {"acme": good, "bad": bad})
    with pytest.warns(UserWarning, match="'bad': MODEL_GROUPS must map"):
        groups = registry.model_groups()
    assert groups["acme-all"] == ("b_mime", "gt") and groups["baselines"] == registry.BASELINES
    assert "broken" not in groups
    with pytest.warns(UserWarning):
        assert registry.expand_models("acme-all") == ["b_mime", "gt"]


def test_a_broken_hooks_module_is_skipped_with_a_warning(monkeypatch):
    class BrokenEntryPoint:
        name, value = "broken", "no_such_pkg.hooks"

        def load(self):
            raise ImportError("no module named no_such_pkg")

    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: [BrokenEntryPoint()])
    with pytest.warns(UserWarning, match="plug-in 'broken'.*failed to import"):
        assert plugins.load_plugins() == {}


def test_a_hooks_module_that_fails_to_import_names_its_line(monkeypatch, tmp_path):
    (tmp_path / "acme_pkg").mkdir()
    (tmp_path / "acme_pkg" / "__init__.py").write_text("")
    (tmp_path / "acme_pkg" / "hooks.py").write_text("import os\n\nTRAIN = missing_hook\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)

    class EntryPoint:
        name, value = "acme", "acme_pkg.hooks"

        def load(self):
            return importlib.import_module(self.value)

    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: [EntryPoint()])
    with pytest.warns(UserWarning) as caught:
        assert plugins.load_plugins() == {}
    sys.modules.pop("acme_pkg", None)  # imported from tmp_path: not for other tests
    assert str(caught[0].message) == (
        "reactbench plug-in 'acme' (acme_pkg.hooks) failed to import and is skipped: NameError: "
        f"name 'missing_hook' is not defined (at {Path('acme_pkg', 'hooks.py')}:3 "
        "`TRAIN = missing_hook`)")


def test_old_and_new_spellings_of_a_class_are_the_same_class():
    same = registry.same_class
    assert same("models.reactdiff.plugin.ReactDiff", "reactbench.reactdiff.plugin.ReactDiff")
    assert same("baselines.b_mime.BMime", "reactbench.baselines.b_mime.BMime")
    assert same("reactbench.baselines.b_mime.BMime", "baselines.b_mime.BMime")
    assert same(None, None) and same("team.Model", "team.Model")
    assert not same("baselines.b_mime.BMime", "reactbench.baselines.b_nn.BNearestNeighbour")
    assert not same("models.reactdiff.plugin.ReactDiff", "reactbench.reactdiff.plugin.ReactDiffLRS")
    assert not same("team.Model", None)


def test_expand_groups_keeps_order_and_drops_duplicates():
    got = registry.expand_models("reactdiff,baselines,b_mime")
    assert got == ["reactdiff", "b_random", "b_mime", "b_meanseq", "b_meanfr", "b_nn", "gt"]


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ModelError, match=r"Did you mean 'b_meanfr'"):
        registry.expand_models("b_meanfrr")
    with pytest.raises(ModelError, match="no model given"):
        registry.expand_models(" , ")


def test_file_and_module_specs(monkeypatch):
    cls = registry.resolve_model(f"{PLUGINS}:WithOptions")
    assert cls.__name__ == "WithOptions"
    model = registry.create_model(f"{PLUGINS}:WithOptions", gain="0.5")
    assert model.gain == 0.5
    assert registry.resolve_model("reactbench.baselines.b_mime:BMime").__name__ == "BMime"
    with pytest.raises(ModelError, match="has no class 'Nope'.*Model classes there"):
        registry.resolve_model(f"{PLUGINS}:Nope")
    with pytest.raises(ModelError, match="does not exist"):
        registry.resolve_model("no/such/file.py:Model")
    with pytest.raises(ModelError, match="cannot import module 'no_such_pkg.mod'"):
        registry.resolve_model("no_such_pkg.mod:Model")
    with pytest.raises(ModelError, match=r"does not accept option\(s\) \['nope'\]"):
        registry.create_model(f"{PLUGINS}:WithOptions", nope="1")


def test_entry_point_models_are_listed(monkeypatch):
    monkeypatch.setattr(registry, "entry_point_models",
                        lambda: {"acme": "reactbench.baselines.b_mime:BMime"})
    assert registry.available_models()["acme"] == "reactbench.baselines.b_mime:BMime"
    assert registry.expand_models("acme") == ["acme"]
    assert "acme" in registry.describe_models()
    assert registry.resolve_model("acme").__name__ == "BMime"


def test_model_args_route_to_models_that_take_them():
    spec = f"{PLUGINS}:WithOptions"
    got = registry.parse_model_args(["gain=2", f"{spec}@gain=3"], ["b_mime", spec])
    assert got == {"b_mime": {}, spec: {"gain": "3"}}
    with pytest.raises(ModelError, match="expected \\[MODEL@\\]key=value"):
        registry.parse_model_args(["gain"], [spec])


def test_declared_options_route_model_args():
    spec, other = f"{PLUGINS}:DeclaredOptions", f"{PLUGINS}:WithOptions"
    names, var_kw = registry.accepted_options(registry.resolve_model(spec))
    assert names == {"checkpoint", "steps"} and not var_kw
    got = registry.parse_model_args(["gain=2", "checkpoint=x.pt"], [spec, other])
    assert got == {spec: {"checkpoint": "x.pt"}, other: {"gain": "2"}}


def test_file_without_class_names_the_classes_to_pick(tmp_path):
    with pytest.raises(ModelError, match=rf"name the class after a colon: {PLUGINS}:_Base, "
                                         rf"{PLUGINS}:Raises, ") as exc:
        registry.expand_models(str(PLUGINS))
    assert "BaseReactionModel" not in str(exc.value)
    with pytest.raises(ModelError, match=r"has no class 'Nope'\. Model classes there: _Base,"):
        registry.resolve_model(f"{PLUGINS}:Nope")
    (tmp_path / "empty.py").write_text("x = 1\n")
    with pytest.raises(ModelError, match="defines no class with a generate"):
        registry.expand_models(str(tmp_path / "empty.py"))
    with pytest.raises(ModelError, match="does not exist"):
        registry.expand_models(str(tmp_path / "missing.py"))


def test_failing_constructor_names_the_options_it_got():
    with pytest.raises(ModelError, match=r"constructing it failed \(options: gain='x'\): "
                                         "ValueError"):
        registry.create_model(f"{PLUGINS}:WithOptions", gain="x")


def test_model_file_imports_modules_beside_it(tmp_path):
    (tmp_path / "team_helpers.py").write_text("GAIN = 0.25\n")
    (tmp_path / "team_model.py").write_text(
        "from team_helpers import GAIN\n\n"
        "from reactbench.models import BaseReactionModel\n\n\n"
        "class TeamModel(BaseReactionModel):\n"
        "    gain = GAIN\n\n"
        "    def generate(self, speaker, *, alpha, seed):\n"
        "        raise NotImplementedError\n")
    before = list(sys.path)
    try:
        assert registry.resolve_model(f"{tmp_path / 'team_model.py'}:TeamModel").gain == 0.25
        assert sys.path == before
    finally:
        sys.modules.pop("team_helpers", None)


TEAM_FILE = """
from baselines.net import SCALE as OFFSET
from models.net import SCALE
from reactbench.models import BaseReactionModel, ModelInfo
class Team(BaseReactionModel):
    info = ModelInfo(name="team", params={"scale": SCALE, "offset": OFFSET})
    def generate(self, speaker, *, alpha, seed):
        raise NotImplementedError
"""
# Each order runs in a child forked from one interpreter that has imported only reactbench's
# registry, which every order imports first, and torch, which every order imports (ReactDiff's
# plug-in does) and which has no ``models`` or ``baselines`` of its own: one import of torch
# for both orders. A child writes what it resolved, and any traceback, into its team's folder.
RESOLVE_EACH_ORDER = """
import os, sys, traceback
import torch
from reactbench import plugins, registry
failed = 0
for folder, specs in {orders!r}:
    pid = os.fork()
    if pid == 0:
        code = 1
        with open(os.path.join(folder, "resolved.txt"), "w") as out:
            sys.stdout = sys.stderr = out
            try:
                for spec in specs:
                    cls = registry.resolve_model(spec)
                    print(cls.__name__, cls.__module__)
                import models, baselines
                print("team models", models.__file__)
                print("team baselines", baselines.__file__)
                code = 0
            except BaseException:
                traceback.print_exc()
        os._exit(code)
    failed |= os.waitpid(pid, 0)[1]
sys.exit(1 if failed else 0)
"""


@pytest.fixture(scope="module")
def resolved_in_order(tmp_path_factory) -> dict[bool, tuple[Path, str]]:
    """team_first -> (the team's folder, what resolving the specs in that order printed), each
    order in a process of its own (sys.modules is per process) that had imported none of the
    team's modules nor ReactDiff. The plug-in file ``team.py`` in the folder imports its team's
    own ``models`` and ``baselines`` packages, as research repositories often have."""
    import subprocess

    base = tmp_path_factory.mktemp("orders")
    folders, orders = {}, []
    for team_first in (True, False):
        folder = folders[team_first] = base / f"team_first_{team_first}"
        for name, value in (("models", "0.5"), ("baselines", "2")):
            pkg = folder / name
            pkg.mkdir(parents=True)
            (pkg / "__init__.py").write_text("")
            (pkg / "net.py").write_text(f"SCALE = {value}\n")
        (folder / "team.py").write_text(TEAM_FILE)
        team, ours = f"{folder / 'team.py'}:Team", ["reactdiff", "b_mime"]
        orders.append((str(folder), [team, *ours] if team_first else [*ours, team]))
    # the folders' parent is the working directory: the team's packages are found through the
    # plug-in file's folder only
    done = subprocess.run([sys.executable, "-c", RESOLVE_EACH_ORDER.format(orders=orders)],
                          capture_output=True, text=True, cwd=base, timeout=120)
    printed = {k: (f / "resolved.txt").read_text() if (f / "resolved.txt").exists() else ""
               for k, f in folders.items()}
    assert done.returncode == 0, f"{done.stdout}{done.stderr}{printed}"
    return {k: (folders[k], printed[k]) for k in folders}


@pytest.mark.parametrize("team_first", [True, False])
def test_a_plugin_importing_its_own_models_package_runs_beside_ours(resolved_in_order,
                                                                    team_first):
    """reactbench installs no top-level ``models``/``baselines``: a team's packages of those
    names and ReactDiff plus the baselines resolve in one process, in either order."""
    folder, out = resolved_in_order[team_first]
    assert "ReactDiff reactbench.reactdiff.plugin" in out
    assert "BMime reactbench.baselines.b_mime" in out
    assert f"team models {folder / 'models' / '__init__.py'}" in out
    assert f"team baselines {folder / 'baselines' / '__init__.py'}" in out


def test_model_file_that_edits_sys_path_imports(tmp_path):
    """A plug-in that removes its own folder from sys.path still imports (no ValueError)."""
    (tmp_path / "tidy_model.py").write_text(
        "import os\nimport sys\n\n"
        "sys.path.remove(os.path.dirname(os.path.abspath(__file__)))\n\n"
        "from reactbench.models import BaseReactionModel\n\n\n"
        "class TidyModel(BaseReactionModel):\n"
        "    def generate(self, speaker, *, alpha, seed):\n"
        "        raise NotImplementedError\n")
    before = list(sys.path)
    assert registry.resolve_model(f"{tmp_path / 'tidy_model.py'}:TidyModel").__name__ == \
        "TidyModel"
    assert sys.path == before


def test_repeated_model_args_are_refused_and_model_form_wins():
    spec = f"{ODD_PLUGINS}:Scaled"
    with pytest.raises(ValueError, match="already set by 'gain=1'; give each option once"):
        parse_model_args(["gain=1", "gain=2"], [spec])
    with pytest.raises(ValueError, match="already set by"):
        parse_model_args([f"{spec}@gain=1", f"{spec}@gain=2"], [spec])
    both = [f"{spec}@gain=3", "gain=2"], ["gain=2", f"{spec}@gain=3"]
    for args in both:
        assert parse_model_args(args, [spec]) == {spec: {"gain": "3"}}
