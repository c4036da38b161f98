"""B_Mime: the speaker's own emotion sequence, repeated alpha times, no lag (official)."""

from __future__ import annotations

from reactbench.models import BaseReactionModel, ModelInfo, Reactions, SpeakerInput

from ._common import repeat_alpha


class BMime(BaseReactionModel):
    info = ModelInfo(name="b_mime", version="1", citation="REACT2024 official baselines")
    needs_train = False
    needs_audio = False

    def generate(self, speaker: SpeakerInput, *, alpha: int, seed: int) -> Reactions:
        return Reactions(emotion=repeat_alpha(speaker.emotion, alpha))

    def generate_online(
        self, speaker: SpeakerInput, *, start: int, alpha: int, seed: int
    ) -> Reactions:
        return Reactions(emotion=repeat_alpha(speaker.emotion[:, start:], alpha))
