"""GT_identical (REACT2026 naive baselines): prediction i is the sample's aligned target i.

Its FRCorr is reported as the challenge's script reports it: alpha (the number of generations)
once every prediction equals its target within 1e-6 (the script's workaround for CCC = 0 on
constant AU columns); the real value is kept in the result's ``extra["FRCorr/real"]``. The
other metrics are real. A reference row: it sees the real reactions.
"""

from __future__ import annotations

import numpy as np

from reactbench.errors import ModelError, param
from reactbench.models import ModelInfo

from ._common import SampleBaseline


class GTIdentical(SampleBaseline):
    info = ModelInfo(name="gt_identical", version="1",
                     citation="REACT2026 naive baselines (GT_identical)", display="GT_identical",
                     table_order=0)
    needs_listener = True  # a reference row: its reactions are the real targets
    force_identity_frc = True  # FRCorr reported as alpha when predictions equal the targets

    def generate_samples(self, data, targets: list[np.ndarray], *, alpha: int,
                         seed: int) -> list[np.ndarray]:
        k = int(targets[0].shape[0]) if targets else 0
        if alpha > k:
            raise ModelError(f"gt_identical copies the samples' {k} targets; it needs "
                             f"{param('alpha')} <= {k} (got {alpha})")
        return [np.array(t[:alpha], dtype=np.float32, copy=True) for t in targets]
