"""B_Mime (REACT2026 naive baselines): the speaker's sequence repeated alpha times (whole
samples, as the challenge's baselines script computes it)."""

from __future__ import annotations

import numpy as np

from reactbench.models import ModelInfo

from ._common import SampleBaseline


class BMime2026(SampleBaseline):
    info = ModelInfo(name="b26_mime", version="1",
                     citation="REACT2026 naive baselines (B_Mime)", display="B_Mime",
                     table_order=2)

    def generate_samples(self, data, targets: list[np.ndarray], *, alpha: int,
                         seed: int) -> list[np.ndarray]:
        return [np.ascontiguousarray(np.broadcast_to(np.asarray(s, dtype=np.float32),
                                                     (alpha, *np.shape(s))))
                for s in data.speaker_emotion]
