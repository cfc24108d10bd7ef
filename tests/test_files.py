"""Atomic writes: an output cut short (a kill, a full disk) never takes the place of a whole one."""

from __future__ import annotations

import numpy as np
import pytest

from seqsuite.files import atomic_path


def test_a_write_cut_short_leaves_the_old_file_and_no_partial_one(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("whole")
    with pytest.raises(OSError, match="No space left"):
        with atomic_path(path) as partial:
            partial.write_text("half")
            raise OSError(28, "No space left on device")
    assert path.read_text() == "whole" and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_a_finished_write_replaces_the_file_and_keeps_numpys_suffix(tmp_path):
    path = tmp_path / "features" / "sequences.npz"
    with atomic_path(path) as partial:
        np.savez(partial, values=np.arange(3))
    assert np.load(path)["values"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in path.parent.iterdir()) == ["sequences.npz"]
