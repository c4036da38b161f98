"""B_Mime: the speaker's own emotion sequence, repeated alpha times, no lag (official)."""

from __future__ import annotations

from reactbench.models import ModelInfo, Reactions, SpeakerInput

from ._common import WindowBaseline, repeat_alpha


class BMime(WindowBaseline):
    info = ModelInfo(name="b_mime", version="1", citation="REACT2024 official baselines",
                     display="B_Mime", table_order=2)
    needs_train = False
    needs_audio = False

    def window(self, speaker: SpeakerInput, *, start: int, alpha: int, seed: int) -> Reactions:
        return Reactions(emotion=repeat_alpha(speaker.emotion[:, start:], alpha))
