"""A team's plug-in file whose methods fail, written into a test's folder: ``generate`` raising
inside torch (a shape-mismatched ``nn.Linear``) or directly, ``fit``, ``generate_samples`` and
the constructor raising directly, and files that fail to import."""

from __future__ import annotations

from pathlib import Path

MODEL_FILE = "team_model.py"
SOURCE = '''\
import torch
from torch import nn

from reactbench.models import BaseReactionModel, ModelInfo, Reactions


class InTorch(BaseReactionModel):
    """generate feeds 25 features to a layer that expects 7."""

    info = ModelInfo(name="in_torch")
    needs_train = False

    def __init__(self):
        self.head = nn.Linear(7, 25)

    def generate(self, speaker, *, alpha, seed):
        x = torch.from_numpy(speaker.emotion)
        y = self.head(x)
        return Reactions(emotion=y.detach().numpy()[:, None].repeat(alpha, 1))


class Direct(InTorch):
    info = ModelInfo(name="direct")

    def generate(self, speaker, *, alpha, seed):
        raise ValueError("no reactions today")


class FitFails(InTorch):
    info = ModelInfo(name="fit_fails")

    def fit(self, train, *, seed=0, device="cpu"):
        raise RuntimeError("the team's fit failed")


class SamplesFail(InTorch):
    info = ModelInfo(name="samples_fail")

    def generate_samples(self, data, targets, *, alpha, seed):
        return [self.head(torch.zeros(3, 25)) for _ in range(data.n)]


class BuildFails(InTorch):
    info = ModelInfo(name="build_fails")

    def __init__(self):
        raise KeyError("no such layer")
'''
# the line of SOURCE each case fails on, and the line torch raises from for InTorch
FAILING_LINES = {
    "InTorch": "y = self.head(x)",
    "Direct": 'raise ValueError("no reactions today")',
    "FitFails": "raise RuntimeError(\"the team's fit failed\")",
    "SamplesFail": "return [self.head(torch.zeros(3, 25)) for _ in range(data.n)]",
    "BuildFails": 'raise KeyError("no such layer")',
}
SYNTAX_ERROR = "import torch\n\n\ndef broken(:\n    pass\n"
IMPORT_ERROR = "import torch\n\nLAYERS = undefined_name + 1\n"


def write_plugin(folder: Path, name: str = MODEL_FILE, source: str = SOURCE) -> Path:
    """``source`` written to ``folder/name``; returns the path."""
    path = folder / name
    path.write_text(source)
    return path


def line_of(source: str, text: str) -> int:
    """The 1-based number of the first line of ``source`` that holds ``text``."""
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def where(cls: str, shown: str) -> str:
    """``at FILE:LINE `code``` as an error names the failing line of ``cls`` (``shown``: how
    the message shows the plug-in's file)."""
    code = FAILING_LINES[cls]
    return f"at {shown}:{line_of(SOURCE, code)} `{code}`"
