"""B_Random: i.i.d. U[0, 1) in every one of the 25 columns (official definition), seeded.

As in the official code, AUs are not binarised, VA lies in [0, 1) and FE rows do not sum to 1.
The official code is unseeded; here each row's numbers come from (seed, row, window start).
"""

from __future__ import annotations

import numpy as np

from reactbench.constants import EMOTION_DIM
from reactbench.models import ModelInfo, Reactions, SpeakerInput, row_rng

from ._common import WindowBaseline


class BRandom(WindowBaseline):
    info = ModelInfo(name="b_random", version="1", citation="REACT2024 official baselines",
                     display="B_Random", table_order=1)
    needs_train = False
    needs_audio = False

    def window(self, speaker: SpeakerInput, *, start: int, alpha: int, seed: int) -> Reactions:
        t = speaker.frames - start
        out = np.empty((speaker.batch_size, alpha, t, EMOTION_DIM), dtype=np.float32)
        for b, row in enumerate(speaker.rows):
            out[b] = row_rng(seed, row, start).random((alpha, t, EMOTION_DIM), dtype=np.float32)
        return Reactions(emotion=out)
