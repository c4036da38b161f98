"""``reactbench ablate``: the ablation study of a model, through the ablate hook of an installed
plug-in (:mod:`reactbench.plugins`; ReactDiff's trains the missing variants, evaluates them and
writes the ablation table)."""

from __future__ import annotations

from reactbench.commands._common import DefaultsHelpFormatter
from reactbench.errors import ReactbenchError
from reactbench.plugins import add_command, no_hook_message


def register(sub) -> None:
    p = add_command(sub, "ablate", DefaultsHelpFormatter)
    p.set_defaults(func=main)


def main(args) -> int:
    if getattr(args, "hook", None) is None:
        raise ReactbenchError(no_hook_message("ablate"))
    return int(args.hook.run(args) or 0)
