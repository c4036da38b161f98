"""Where a plug-in's exception happened: the last line of the user's own code in its traceback.

An exception a model raises often surfaces deep inside a library (a shape mismatch is raised in
``torch/nn/modules/linear.py``); the line its author needs is the last one of their own code on
the way there. :func:`exception_location` walks the traceback and names that frame, plus the
innermost frame when it lies elsewhere::

    at my_model.py:42 `y = self.head(x)`, raised in torch/nn/modules/linear.py:134

The rule: a frame is the user's when its file is one of the model's own sources (the file that
defines the model class, and the package that file belongs to), or when it lies outside every
library: not in the Python standard library, not in an installed package (``site-packages`` or
``dist-packages``, wherever the interpreter installs packages), not in reactbench's core, torch
or numpy, and not a synthetic file such as ``<frozen importlib._bootstrap>``. A user's file is
shown relative to the working directory when it lies inside it; a library's file relative to
the ``sys.path`` entry it was imported from. A :class:`SyntaxError` carries its own location
(file, line and text), which is named instead.
"""

from __future__ import annotations

import inspect
import os
import site
import sys
import sysconfig
import traceback
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

# packages whose frames are never the user's, wherever they are installed (an editable torch
# or numpy checkout lies outside site-packages); reactbench's core is added by its location
LIBRARIES = ("torch", "numpy")
INSTALL_DIRS = ("site-packages", "dist-packages")
CODE_CHARS = 80  # longest code text quoted


def _real(path: str) -> str:
    return os.path.realpath(os.path.abspath(path))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    """Folders whose files are library code: the standard library, the interpreter's package
    folders, reactbench's core package."""
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    try:
        roots.update(site.getsitepackages())
    except AttributeError:  # some embedded interpreters lack it
        pass
    roots.add(site.getusersitepackages() or "")
    roots.add(str(Path(__file__).resolve().parent))  # reactbench's core
    return tuple(sorted(_real(r) for r in roots if r))


def _loaded_library_roots() -> tuple[str, ...]:
    """The folders of the LIBRARIES packages imported so far."""
    out = []
    for name in LIBRARIES:
        module = sys.modules.get(name)
        for folder in getattr(module, "__path__", None) or ():
            out.append(_real(folder))
    return tuple(out)


def model_sources(model: object) -> tuple[str, ...]:
    """Files and folders holding a model's own code: the file that defines its class (``model``
    may be the class) and, when that module belongs to a package, the package's folder (for a
    model under reactbench's namespace, such as ``reactbench.baselines.b_mime``, the subpackage
    ``reactbench.baselines``). Empty when the class has no source file."""
    cls = model if isinstance(model, type) else type(model)
    try:
        file = inspect.getfile(cls)
    except (TypeError, OSError):
        return ()
    out = [_real(file)]
    parts = cls.__module__.split(".")
    package = ".".join(parts[:2]) if parts[0] == "reactbench" and len(parts) > 2 else parts[0]
    module = sys.modules.get(package)
    if package != cls.__module__ and package != "reactbench":
        out += [_real(p) for p in getattr(module, "__path__", None) or ()]
    return tuple(out)


def is_user_file(filename: str, sources: Iterable[str] = ()) -> bool:
    """Whether a frame in ``filename`` is the user's code (see the module docstring);
    ``sources``: the model's own files and folders (:func:`model_sources`), which are the
    user's wherever they lie."""
    if filename.startswith("<") and filename.endswith(">"):
        return filename in sources
    path = _real(filename)
    if any(_inside(path, s) for s in sources):
        return True
    if any(part in INSTALL_DIRS for part in Path(path).parts):
        return False
    return not any(_inside(path, r) for r in (*_library_roots(), *_loaded_library_roots()))


def shown_path(filename: str, *, library: bool = False) -> str:
    """``filename`` as a message shows it: a user's file relative to the working directory
    when inside it, a library's (``library``) relative to the ``sys.path`` entry holding it
    (``torch/nn/modules/linear.py``); else as it is."""
    if filename.startswith("<"):
        return filename
    path = _real(filename)
    try:
        bases = [os.getcwd()]
    except OSError:  # the working directory was removed
        bases = []
    if library:  # the longest entry first: the most specific import root
        bases = sorted((_real(p) for p in sys.path if p), key=len, reverse=True) + bases
    for base in bases:
        if _inside(path, base) and path != base:
            return os.path.relpath(path, base)
    return filename


def _code(text: str | None) -> str:
    text = " ".join((text or "").split())
    if not text:
        return ""
    if len(text) > CODE_CHARS:
        text = text[:CODE_CHARS - 3] + "..."
    return f" `{text}`"


def exception_location(exc: BaseException, sources: Iterable[str] = (), *,
                       user_only: bool = False) -> str:
    """Where ``exc`` happened, for a one-line message: ``at FILE:LINE `code```, naming the last
    frame of the user's code (``sources``: the model's own files, :func:`model_sources`), with
    ``, raised in FILE:LINE`` when the innermost frame lies elsewhere; the innermost frame
    alone when no frame is the user's (unless ``user_only``); "" when there is nothing to
    name (also when the traceback cannot be read: the message must never fail)."""
    try:
        return _location(exc, tuple(sources), user_only)
    except Exception:  # e.g. an unreadable source file or working directory
        return ""


def _location(exc: BaseException, sources: tuple[str, ...], user_only: bool) -> str:
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        shown = shown_path(exc.filename, library=not is_user_file(exc.filename, sources))
        return f"at {shown}:{exc.lineno}{_code(exc.text)}"
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    inner = frames[-1]
    user = next((f for f in reversed(frames) if is_user_file(f.filename, sources)), None)
    if user is None:
        if user_only:
            return ""
        return f"at {shown_path(inner.filename, library=True)}:{inner.lineno}{_code(inner.line)}"
    where = f"at {shown_path(user.filename)}:{user.lineno}{_code(user.line)}"
    if user is inner:
        return where
    lib = not is_user_file(inner.filename, sources)
    return f"{where}, raised in {shown_path(inner.filename, library=lib)}:{inner.lineno}"


def exception_summary(exc: BaseException) -> str:
    """``Type: message`` of ``exc`` (a SyntaxError's message without its own location)."""
    text = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = ["exception_location", "exception_summary", "is_user_file", "model_sources",
           "shown_path"]
