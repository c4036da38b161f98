"""Plug-in hooks: what an installed package adds to reactbench besides its models.

A package registers its model classes under the entry-point group ``reactbench.models``
(name -> ``"module:Class"``, see :mod:`reactbench.registry`). It may also register one
*hooks module* under the group ``reactbench.plugins``::

    [project.entry-points."reactbench.plugins"]
    mymodel = "mypkg.hooks"

The hooks module is imported whenever reactbench lists models or builds its command line, so it
must be light: no torch or other heavy import at module level (import those inside the hook
functions). Every attribute is optional:

- ``MODEL_GROUPS``: ``{group: (model name, ...)}``, names that ``--model`` expands (e.g. an
  ablation group that runs every variant of a model);
- ``TRAIN``: a :class:`CommandHook` for ``reactbench train`` (and ``python -m
  reactbench.train`` under ``torchrun``);
- ``ABLATE``: a :class:`CommandHook` for ``reactbench ablate``.

A command hook supplies the command's help line and description, adds its flags to the
command's parser and runs the parsed arguments. When one installed plug-in provides a command,
its flags are the command's flags (``reactbench train --preset small ...``); when several do,
the command takes the plug-in's entry-point name first (``reactbench train mymodel ...``).
When none does, the command says so. A hooks module that fails to import is skipped with a
warning, so one broken package does not break the others.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any

from reactbench.tracebacks import exception_location, exception_summary

PLUGIN_GROUP = "reactbench.plugins"
COMMANDS = ("TRAIN", "ABLATE")  # the command hooks a hooks module may define


@dataclass(frozen=True)
class CommandHook:
    """A command a plug-in provides (``reactbench train`` or ``reactbench ablate``).

    help: one line for ``reactbench --help``; description: the command's ``--help`` text;
    add_arguments(parser): adds the command's flags; run(args) -> exit status: does the work
    (raise :class:`reactbench.errors.ReactbenchError` for a message without a traceback).
    """

    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


_ENTRY_POINTS: dict[tuple, tuple] = {}


def installed_entry_points(group: str) -> tuple:
    """The installed distributions' entry points of ``group``, read once per process and
    search path (reading them scans every installed distribution: milliseconds per call, and
    one command asks several times). Errors of a broken installation propagate."""
    # keyed by the lookup function too: one that was replaced (a test's fake) is asked afresh
    key = (metadata.entry_points, group, tuple(sys.path))
    found = _ENTRY_POINTS.get(key)
    if found is None:
        found = _ENTRY_POINTS[key] = tuple(metadata.entry_points(group=group))
    return found


def load_plugins() -> dict[str, ModuleType | Any]:
    """Installed hooks modules by entry-point name (sorted); ones that fail to import are
    skipped with a warning."""
    try:
        eps = sorted(installed_entry_points(PLUGIN_GROUP), key=lambda e: e.name)
    except Exception:  # a broken installed distribution must not break reactbench
        return {}
    out = {}
    for ep in eps:
        try:
            out[ep.name] = ep.load()
        except Exception as exc:
            where = exception_location(exc, _package_folders(ep.value), user_only=True)
            warnings.warn(f"reactbench plug-in {ep.name!r} ({ep.value}) failed to import and is "
                          f"skipped: {exception_summary(exc)}" + (f" ({where})" if where else ""),
                          stacklevel=2)
    return out


def _package_folders(target: str) -> tuple[str, ...]:
    """The folders of the top-level package of an entry point's ``module[:attr]`` (found
    without importing it), or none."""
    top = target.partition(":")[0].split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return ()
    return tuple(getattr(spec, "submodule_search_locations", None) or ())


def plugin_groups() -> dict[str, tuple[str, ...]]:
    """Model groups that installed plug-ins declare (``MODEL_GROUPS``); the first plug-in to
    name a group keeps it."""
    groups: dict[str, tuple[str, ...]] = {}
    for name, hooks in load_plugins().items():
        declared = getattr(hooks, "MODEL_GROUPS", None) or {}
        if not _is_groups(declared):
            warnings.warn(f"reactbench plug-in {name!r}: MODEL_GROUPS must map a group name to "
                          "a sequence of model names; ignored", stacklevel=2)
            continue
        for group, models in declared.items():
            groups.setdefault(group, tuple(models))
    return groups


def _is_groups(value: object) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(g, str) and isinstance(ms, Sequence) and not isinstance(ms, str)
        and all(isinstance(m, str) for m in ms) for g, ms in value.items())


def command_hooks(command: str) -> dict[str, CommandHook]:
    """``command`` (``"train"`` or ``"ablate"``) as the installed plug-ins provide it:
    plug-in name -> hook (sorted by name; empty when none provides it)."""
    attr = command.upper()
    if attr not in COMMANDS:
        raise ValueError(f"command must be one of {[c.lower() for c in COMMANDS]}, not "
                         f"{command!r}")
    hooks = {}
    for name, module in load_plugins().items():
        hook = getattr(module, attr, None)
        if hook is None:
            continue
        if not isinstance(hook, CommandHook):
            warnings.warn(f"reactbench plug-in {name!r}: {attr} must be a "
                          "reactbench.plugins.CommandHook; ignored", stacklevel=2)
            continue
        hooks[name] = hook
    return hooks


def add_hook_arguments(parser: argparse.ArgumentParser, hooks: Mapping[str, CommandHook],
                       formatter_class: type[argparse.HelpFormatter],
                       common: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
    """Give ``parser`` the flags of ``hooks`` (from :func:`command_hooks`, not empty) and set
    ``args.hook`` to the hook that runs them: one hook's flags directly, several behind the
    plug-in's name (a sub-command per plug-in). ``common`` adds the command's own flags after
    each hook's."""
    leaves = []
    if len(hooks) == 1:
        (hook,) = hooks.values()
        leaves.append((parser, hook))
    else:
        sub = parser.add_subparsers(dest="plugin", metavar="PLUGIN", required=True,
                                    title="plug-ins providing this command")
        for name, hook in hooks.items():
            leaves.append((sub.add_parser(name, help=hook.help, description=hook.description,
                                          formatter_class=formatter_class), hook))
    for leaf, hook in leaves:
        hook.add_arguments(leaf)
        if common is not None:
            common(leaf)
        leaf.set_defaults(hook=hook)


def add_command(sub: Any, command: str, formatter_class: type[argparse.HelpFormatter], *,
                common: Callable[[argparse.ArgumentParser], None] | None = None,
                hooks: Mapping[str, CommandHook] | None = None) -> argparse.ArgumentParser:
    """Add ``reactbench <command>`` to the sub-parsers ``sub``: help and description from the
    one hook that provides it, flags from :func:`add_hook_arguments`. When no plug-in provides
    it, the command takes any arguments (``--help`` too, as plain text) and its function says
    so, instead of argparse refusing a flag nobody defined."""
    hooks = command_hooks(command) if hooks is None else hooks
    if not hooks:
        p = sub.add_parser(command, help=f"{command} (no installed plug-in provides it)",
                           description=no_hook_message(command), prefix_chars="\0",
                           add_help=False)  # "\0": no argument is a flag
        p.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
        return p
    if len(hooks) == 1:
        (hook,) = hooks.values()
        help_, description = hook.help, hook.description
    else:
        help_ = f"{command} (plug-ins: {', '.join(hooks)})"
        description = f"reactbench {command} as each installed plug-in provides it."
    p = sub.add_parser(command, help=help_, description=description,
                       formatter_class=formatter_class)
    add_hook_arguments(p, hooks, formatter_class, common)
    return p


def no_hook_message(command: str) -> str:
    """What ``reactbench <command>`` says when no installed plug-in provides it."""
    return (f"no installed plug-in provides `reactbench {command}`: a package adds it with a "
            f"{command.upper()} hook in the module it registers under the entry-point group "
            f"{PLUGIN_GROUP!r} (see reactbench.plugins)")
