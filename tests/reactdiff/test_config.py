"""ReactDiff configs (models/reactdiff/config.py): presets and variants are valid, bad values and
unreadable config files are named."""

from __future__ import annotations

import pytest
from reactbench.reactdiff.config import merge_overrides, preset_config

from reactbench.errors import ModelError


@pytest.mark.parametrize(("override", "needle"), [
    ({"model": {"d_model": "16"}}, "model.d_model must be int like 1024; got '16'"),
    ({"model": {"latent_dim": -16}}, "model.latent_dim must be >= 1; got -16"),
    ({"train": {"lr1": "fast"}}, "train.lr1 must be float"),
    ({"train": {"val_every": 0}}, "train.val_every must be >= 1"),
    ({"model": {"window": 0}}, "model.window must be >= 1"),
    ({"model": {"heads": 3}}, "model.d_model (1024) must be a multiple of model.heads (3)"),
    ({"model": {"fusion": "bogus"}}, "model.fusion must be 'cross' or 'concat'"),
    ({"train": {"batch_size": 0}}, "train.batch_size must be >= 1"),
    ({"train": {"ema": 1.5}}, "train.ema must lie in [0, 1]"),
    ({"model": {"streams": []}}, "model.streams must be a non-empty list"),
    ({"model": {"unet_attn_levels": [7]}}, "model.unet_attn_levels must index"),
])
def test_invalid_config_values_are_named(override, needle):
    with pytest.raises(ModelError, match=None) as info:
        merge_overrides(preset_config("paper"), override)
    assert needle in str(info.value), info.value


def test_config_file_must_be_an_object():
    with pytest.raises(ModelError, match="holds a JSON object"):
        merge_overrides(preset_config("small"), [1, 2])


@pytest.mark.parametrize(("content", "needle"), [
    (None, "is a directory; expected a JSON file"),
    (b"\xff{}", "is not UTF-8 text"),
    (b'{"model":', "is not valid JSON"),
])
def test_unreadable_config_files_are_named(tmp_path, content, needle):
    from reactbench.reactdiff.config import load_config_file

    path = tmp_path / "cfg.json"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=f"config file {path} {needle}"):
        load_config_file(path)


def test_every_preset_and_variant_config_is_valid():
    from reactbench.reactdiff.config import PRESETS, VARIANTS

    for p in PRESETS:
        for v in VARIANTS:
            preset_config(p, v)  # validated on construction
