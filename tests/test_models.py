"""The model contract (reactbench.models): ModelInfo checks; plain classes without fit or info
run."""

from __future__ import annotations

import pytest

from reactbench.results import read_result
from tests.helpers.quick_runs import PLUGINS, run_args


@pytest.mark.parametrize(("cls", "needle"), [
    ("DictInfo", "`info` is a dict; expected reactbench.models.ModelInfo("),
    ("EmptyName", "ModelInfo.name must be a non-empty string"),
    ("IntVersion", "ModelInfo.version must be a non-empty string such as '1'; got 2"),
    ("NanParam", "ModelInfo.params.gain is nan, not a finite number"),
    ("ObjectParam", "ModelInfo.params.fn holds <object object"),
])
def test_a_malformed_model_info_is_refused_before_any_work(tiny_dataset, tmp_path, cli, cls,
                                                           needle):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model", f"{PLUGINS}:{cls}"))
    assert code == 2 and needle in err, err
    assert "data:" not in err and not tmp_path.exists() or not list(tmp_path.iterdir())


def test_a_plain_class_without_fit_or_info_runs(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path,
                                 "--model", f"{PLUGINS}:PlainClass,{PLUGINS}:NoInfo"))
    assert code == 0, err
    names = sorted(read_result(p)["model"]["name"] for p in tmp_path.glob("*.json"))
    assert names == ["NoInfo", "PlainClass"]
