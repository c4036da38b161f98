"""Training jobs (models/reactdiff/job.py): output folder checks."""

from __future__ import annotations

import pytest
from reactbench.reactdiff.job import check_output_dir, train_job

from reactbench.errors import ModelError


def test_output_folder_checks(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ModelError, match="is a file, not a directory"):
        check_output_dir(afile / "run", resume=False)
    with pytest.raises(ModelError, match="holds no checkpoint.pt to resume"):
        check_output_dir(tmp_path / "new", resume=True)
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "model.pt").write_bytes(b"x")
    with pytest.raises(ModelError, match="holds a model.pt but no checkpoint.pt"):
        check_output_dir(tmp_path / "done", resume=False)
    with pytest.raises(ModelError, match="max_steps must be >= 1"):
        train_job("reactdiff", max_steps=0, out=tmp_path / "x", data=tmp_path / "missing")
