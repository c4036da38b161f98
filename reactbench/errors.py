"""Error types. All subclass ValueError so callers can catch bad input uniformly.

A message may name a library parameter with :func:`param`: ``str(error)`` shows it as the
parameter (``window=120``), and ``error.render(flag)`` as whatever ``flag`` makes of it (the
command line shows its flag, ``--window 120``), so the library never speaks in CLI flags.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_MARK, _VALUE = "\x1f", "\x1e"  # brackets a parameter reference; separates its value
_PARAM = re.compile(f"{_MARK}([A-Za-z_][A-Za-z0-9_]*)(?:{_VALUE}([^{_MARK}]*))?{_MARK}")
_NO_VALUE = object()
ParamNames = Callable[[str, "str | None"], str]  # (parameter, value or None) -> its text


def param(name: str, value: object = _NO_VALUE) -> str:
    """A parameter named in an error message, optionally with the value it was given."""
    if value is _NO_VALUE:
        return f"{_MARK}{name}{_MARK}"
    return f"{_MARK}{name}{_VALUE}{value}{_MARK}"


def _library_form(name: str, value: str | None) -> str:
    return name if value is None else f"{name}={value}"


def render_params(text: str, names: ParamNames | None = None) -> str:
    """``text`` with every :func:`param` reference replaced by ``names(name, value or None)``
    (default: ``name`` or ``name=value``)."""
    show = names or _library_form
    return _PARAM.sub(lambda m: show(m.group(1), m.group(2)), text)


def message_template(exc: BaseException) -> str:
    """``exc``'s message with its :func:`param` references kept: the ``template`` of a
    ReactbenchError (or of another exception given one), else ``str(exc)``."""
    template = getattr(exc, "template", None)
    return template if isinstance(template, str) else str(exc)


class ReactbenchError(ValueError):
    """Base class: the CLI prints these as a clean one-paragraph message (exit code 2)."""

    def __init__(self, message: object = "", *args: object) -> None:
        self.template = str(message)
        super().__init__(render_params(self.template), *args)

    @property
    def params(self) -> tuple[str, ...]:
        """The parameters the message names, in order."""
        return tuple(m.group(1) for m in _PARAM.finditer(self.template))

    def render(self, names: ParamNames) -> str:
        """The message with each parameter shown as ``names(name, value or None)``."""
        return render_params(self.template, names)


class DataError(ReactbenchError):
    """A dataset file or directory is missing or malformed; the message names the file."""


class ModelError(ReactbenchError):
    """A model is unknown, failed, or returned invalid reactions."""


class ResultsError(ReactbenchError):
    """A result file or results directory is invalid, conflicting, or would be overwritten."""
