"""GT: the ground-truth reference row (the real listener reaction repeated alpha times).

Not a model: the harness hands it the REAL listener reactions (``needs_listener = True``),
and tables mark it as a reference. Official definition (run_baselines.py, B_GT).
"""

from __future__ import annotations

from reactbench.errors import ModelError
from reactbench.models import BaseReactionModel, ModelInfo, Reactions, SpeakerInput

from ._common import repeat_alpha


class GroundTruth(BaseReactionModel):
    info = ModelInfo(name="gt", version="1", citation="REACT2024 official baselines (B_GT)",
                     display="GT", table_order=0)
    needs_train = False
    needs_audio = False
    needs_listener = True  # reference row: receives the real listener reactions

    def generate(self, speaker: SpeakerInput, *, alpha: int, seed: int) -> Reactions:
        if speaker.listener_emotion is None:
            raise ModelError("gt needs the real listener reactions (needs_listener)")
        face = None if speaker.listener_3dmm is None else repeat_alpha(speaker.listener_3dmm, alpha)
        return Reactions(emotion=repeat_alpha(speaker.listener_emotion, alpha), face_3dmm=face)
