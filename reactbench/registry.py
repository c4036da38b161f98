"""Model registry: names -> lazy ``"module:Class"`` strings, imported on first use.

Three ways to name a model (``reactbench run --model ...``):
- a built-in name (``BUILTIN_MODELS``: the official baselines) or a group (``baselines``, or a
  group an installed plug-in declares, see :mod:`reactbench.plugins`);
- a name registered by an installed package under the entry-point group ``reactbench.models``
  (``[project.entry-points."reactbench.models"] mymodel = "mypkg.model:MyModel"``); the
  reference model ReactDiff and its variants are registered this way too;
- ``package.module:Class`` or ``path/to/file.py:Class`` (a file is imported by path).

Listing (:func:`available_models`, :func:`describe_models`) never imports a model, so it is
instant; groups import the plug-ins' light hooks modules only.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import sys
import warnings
from pathlib import Path
from typing import Any

from reactbench.errors import ModelError, param
from reactbench.plugins import installed_entry_points, plugin_groups
from reactbench.tracebacks import exception_location, exception_summary, model_sources

ENTRY_POINT_GROUP = "reactbench.models"

BUILTIN_MODELS: dict[str, str] = {
    "gt": "reactbench.baselines.gt:GroundTruth",
    "b_random": "reactbench.baselines.b_random:BRandom",
    "b_mime": "reactbench.baselines.b_mime:BMime",
    "b_meanseq": "reactbench.baselines.b_meanseq:BMeanSeq",
    "b_meanfr": "reactbench.baselines.b_meanfr:BMeanFr",
    "b_nn": "reactbench.baselines.b_nn:BNearestNeighbour",
    # REACT2026 naive baselines (whole samples; REACT2025/2026 protocols only)
    "gt_identical": "reactbench.baselines.gt_identical:GTIdentical",
    "b26_random": "reactbench.baselines.b26_random:BRandom2026",
    "b26_mime": "reactbench.baselines.b26_mime:BMime2026",
    "b26_meanfr": "reactbench.baselines.b26_meanfr:BMeanFr2026",
}

BASELINES = ("b_random", "b_mime", "b_meanseq", "b_meanfr", "b_nn", "gt")
MODEL_GROUPS: dict[str, tuple[str, ...]] = {"baselines": BASELINES}  # built-in groups
# the REACT2026 naive baselines; ``baselines`` means this group under the REACT2025/2026
# protocols (reactbench run)
BASELINES_2026 = ("b26_random", "b26_mime", "b26_meanfr", "gt_identical")
PROTOCOL_GROUPS: dict[str, tuple[str, ...]] = {"baselines2026": BASELINES_2026}


def model_groups() -> dict[str, tuple[str, ...]]:
    """Every group name -> its model names: the built-in ones, then those that installed
    plug-ins declare (:func:`reactbench.plugins.plugin_groups`; a built-in group name wins)."""
    groups = {**MODEL_GROUPS, **PROTOCOL_GROUPS}
    for group, names in plugin_groups().items():
        groups.setdefault(group, names)
    return groups


def same_class(a: str | None, b: str | None) -> bool:
    """Whether two ``model.class`` values of result files name the same class.

    The repository folders ``baselines/`` and ``models/<package>/`` install as
    ``reactbench.baselines`` and ``reactbench.<package>``; result files written when they
    were installed as top-level packages spell their classes ``baselines.X`` and
    ``models.<package>.X``, which equal the new spelling here.
    """
    return canonical_class(a) == canonical_class(b)


def canonical_class(path: str | None) -> str | None:
    """A ``model.class`` value in today's spelling (see :func:`same_class`)."""
    for old, new in (("baselines.", "reactbench.baselines."), ("models.", "reactbench.")):
        if isinstance(path, str) and path.startswith(old):
            return new + path[len(old):]
    return path


def entry_point_models() -> dict[str, str]:
    """Models that installed packages register under the ``reactbench.models`` group."""
    try:
        eps = installed_entry_points(ENTRY_POINT_GROUP)
    except Exception:  # a broken installed distribution must not break listing
        return {}
    return {ep.name: ep.value for ep in eps}


def available_models() -> dict[str, str]:
    """Every registered name -> "module:Class" (built-ins first; nothing is imported)."""
    models = dict(BUILTIN_MODELS)
    for name, target in entry_point_models().items():
        if name in models and models[name] != target:
            warnings.warn(f"the installed plug-in {target!r} registers the name {name!r}, "
                          f"which is a built-in model; it is ignored (name the model "
                          f"{target!r} to run it)", stacklevel=2)
            continue
        models[name] = target
    return models


def _is_target(spec: str) -> bool:
    return ":" in spec and not spec.startswith(":") and not spec.endswith(":")


def expand_models(specs: str | list[str]) -> list[str]:
    """Split a comma list, expand groups, drop duplicates (order kept); validate names.

    ``"gt,baselines"`` -> ``["gt", "b_random", "b_mime", "b_meanseq", "b_meanfr", "b_nn"]``.
    Raises ModelError for an unknown name, with close matches suggested.
    """
    items = specs.split(",") if isinstance(specs, str) else list(specs)
    out: list[str] = []
    known = available_models()
    groups = model_groups()
    for raw in items:
        spec = raw.strip()
        if not spec:
            continue
        names = groups.get(spec, (spec,))
        for name in names:
            if name not in known and not _is_target(name):
                raise unknown_model_error(name)
            if name not in out:
                out.append(name)
    if not out:
        raise ModelError(f"no model given: pass {param('specs', 'NAME[,NAME...]')} (see "
                         f"{param('list_models')})")
    return out


def unknown_model_error(name: str) -> ModelError:
    if name.endswith(".py"):
        return _file_without_class(name)
    choices = list(available_models()) + list(model_groups())
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ModelError(
        f"unknown model {name!r}.{hint} Known models: {', '.join(choices)}; "
        "or give 'package.module:Class' or 'path/to/file.py:Class'."
    )


def _model_classes(module: Any) -> list[str]:
    """Names of the classes with a ``generate`` method in ``module`` (reactbench's own, such as
    an imported BaseReactionModel, left out)."""
    return [n for n, v in vars(module).items() if inspect.isclass(v) and hasattr(v, "generate")
            and not v.__module__.startswith("reactbench.")]


def _file_without_class(name: str) -> ModelError:
    """A ``path/to/file.py`` spec without ``:Class``: name the classes it could mean."""
    try:
        classes = _model_classes(_import_file(Path(name).expanduser()))
    except ModelError as exc:  # no such file, or importing it failed
        return exc
    if not classes:
        return ModelError(f"model {name!r}: the file defines no class with a generate() "
                          "method; see examples/README.md for the protocol")
    return ModelError(f"model {name!r}: name the class after a colon: "
                      f"{', '.join(f'{name}:{c}' for c in classes)}")


def _import_file(path: Path) -> Any:
    """Import a plug-in file by path. While it runs, its folder leads ``sys.path`` (as for
    ``python file.py``), so the file can import modules that lie beside it."""
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist")
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    mod_name = f"reactbench_plugin_{path.stem}_{digest}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ModelError(f"cannot import model file {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[mod_name]
        where = exception_location(exc, (str(path.resolve()),))
        msg = f"importing model file {path} failed: {exception_summary(exc)}"
        raise ModelError(f"{msg} ({where})" if where else msg) from exc
    finally:
        if folder in sys.path:  # the plug-in may have removed it itself
            sys.path.remove(folder)  # the first occurrence: the one inserted above
    return module


def resolve_model(spec: str) -> type:
    """The model class a name or ``module:Class`` / ``file.py:Class`` spec refers to."""
    target = available_models().get(spec, spec)
    if not _is_target(target):
        raise unknown_model_error(spec)
    module_part, _, cls_name = target.rpartition(":")
    if module_part.endswith(".py") or "/" in module_part or "\\" in module_part:
        module = _import_file(Path(module_part).expanduser())
    else:
        try:
            module = importlib.import_module(module_part)
        except ModuleNotFoundError as exc:
            where = exception_location(exc, user_only=True)  # a missing import in its code
            hint = " Is its package installed (or, for a file, give path/to/file.py:Class)?"
            raise ModelError(
                f"model {spec!r}: cannot import module {module_part!r} "
                f"({exc}{'; ' + where if where else ''}).{hint}"
            ) from exc
        except Exception as exc:
            where = exception_location(exc)
            raise ModelError(
                f"model {spec!r}: importing {module_part!r} failed: {exception_summary(exc)}"
                + (f" ({where})" if where else "")
            ) from exc
    cls = getattr(module, cls_name, None)
    if cls is None:
        classes = _model_classes(module)
        hint = f" Model classes there: {', '.join(classes)}." if classes else ""
        raise ModelError(f"model {spec!r}: {module_part} has no class {cls_name!r}.{hint}")
    if not callable(getattr(cls, "generate", None)):
        raise ModelError(
            f"model {spec!r}: {cls_name} has no generate() method; see reactbench.models "
            "(ReactionModel) and examples/ for the protocol"
        )
    return cls


def accepted_options(cls: type) -> tuple[set[str], bool]:
    """(keyword names the constructor takes, whether it takes **kwargs).

    A class whose constructor takes ``**options`` may declare the names it accepts in a class
    attribute ``OPTIONS`` (a tuple of strings); they are used instead of the signature.
    """
    declared = getattr(cls, "OPTIONS", None)
    if isinstance(declared, (tuple, list, frozenset, set)) and all(
        isinstance(o, str) for o in declared
    ):
        return set(declared), False
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return set(), True
    names, var_kw = set(), False
    for p in sig.parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            var_kw = True
        elif p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            names.add(p.name)
    return names, var_kw


def create_model(spec: str, **options: Any) -> Any:
    """Instantiate a model with keyword options (values may be strings from the CLI)."""
    cls = resolve_model(spec)
    names, var_kw = accepted_options(cls)
    unknown = sorted(k for k in options if k not in names and not var_kw)
    if unknown:
        acc = ", ".join(sorted(names)) or "none"
        raise ModelError(f"model {spec!r} does not accept option(s) {unknown} (accepted: {acc})")
    try:
        return cls(**options)
    except ModelError:
        raise
    except Exception as exc:
        given = ", ".join(f"{k}={v!r}" for k, v in options.items())
        given = f" (options: {given})" if given else ""
        where = exception_location(exc, model_sources(cls))
        msg = f"model {spec!r}: constructing it failed{given}: {exception_summary(exc)}"
        raise ModelError(f"{msg} ({where})" if where else msg) from exc


def parse_model_args(args: list[str] | None, models: list[str]) -> dict[str, dict[str, str]]:
    """``[MODEL@]key=value`` items (the command line's ``--model-arg``) -> model -> {key: value}.

    Without ``MODEL@`` an option goes to every model whose constructor accepts it (a model
    taking ``**kwargs`` accepts everything); an option no model accepts is an error.
    ``MODEL@key`` overrides a plain ``key`` for that model; an option given twice in the
    same form is an error (never a silent last-one-wins).
    """
    per_model: dict[str, dict[str, str]] = {m: {} for m in models}
    given: dict[tuple[str, str], tuple[bool, str]] = {}  # (model, key) -> (MODEL@ form, item)

    def assign(model: str, key: str, value: str, specific: bool, item: str) -> None:
        prev = given.get((model, key))
        if prev is not None and prev[0] == specific:
            raise ModelError(f"{param('model_args', repr(item))}: option {key!r} of {model!r} "
                             f"is already set by {prev[1]!r}; give each option once")
        if prev is None or specific:  # MODEL@key=value wins over a plain key=value
            per_model[model][key] = value
            given[(model, key)] = (specific, item)

    for item in args or []:
        target, sep, kv = item.partition("@")
        if not sep or "=" in target:
            target, kv = "", item
        key, eq, value = kv.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ModelError(f"{param('model_args', repr(item))}: expected [MODEL@]key=value")
        if target:
            if target not in per_model:
                raise ModelError(f"{param('model_args', repr(item))}: model {target!r} is not "
                                 f"in {param('specs')}")
            assign(target, key, value, True, item)
            continue
        takers, offered = [], {}
        for m in models:
            names, var_kw = accepted_options(resolve_model(m))
            offered[m] = sorted(names)
            if key in names or var_kw:
                takers.append(m)
        if not takers:
            known = "; ".join(f"{m}: {', '.join(o) or 'none'}" for m, o in offered.items())
            raise ModelError(f"{param('model_args', repr(item))}: no model in {models} accepts "
                             f"option {key!r} (options they take: {known})")
        for m in takers:
            assign(m, key, value, False, item)
    return per_model


def describe_models() -> str:
    """A readable listing for ``reactbench run --list-models`` (imports nothing)."""
    lines = ["Built-in models:"]
    for name, target in BUILTIN_MODELS.items():
        lines.append(f"  {name:<24} {target}")
    eps = {k: v for k, v in entry_point_models().items() if k not in BUILTIN_MODELS}
    lines.append(f"Installed plug-ins (entry-point group {ENTRY_POINT_GROUP!r}):")
    lines += [f"  {n:<24} {t}" for n, t in eps.items()] or ["  (none)"]
    lines.append("Groups:")
    lines += [f"  {g:<24} {','.join(m)}" for g, m in model_groups().items()]
    lines.append("Or any 'package.module:Class' or 'path/to/file.py:Class'.")
    return "\n".join(lines)
