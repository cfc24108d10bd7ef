"""Atomic writes: an output cut short (a kill, a full disk) never takes the place of a whole one, and a full disk
is named as such, with the file, the free space and the fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import fill, small_disk

from seqsuite.checkpoint import save_torch
from seqsuite.files import DiskFullError, atomic_path
from seqsuite.steps.logs import console_message


def test_a_write_cut_short_leaves_the_old_file_and_no_partial_one(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("whole")
    with pytest.raises(DiskFullError, match=r"disk is full: .*metrics.json was not written"):
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


@pytest.mark.parametrize("write", ["torch", "numpy"])
def test_a_real_full_disk_is_named_and_keeps_the_whole_file(tmp_path, write):
    """On a 1 MiB tmpfs: torch's own writer would report "unexpected pos ... vs ...", numpy's an OSError; both
    become DiskFullError naming the file, and the earlier whole file stays."""
    with small_disk(tmp_path / "disk", "1M") as disk:
        path = disk / ("resume.pt" if write == "torch" else "sequences.npz")
        small, large = np.zeros(1000, dtype=np.float32), np.random.default_rng(0).random(400_000)
        if write == "torch":
            save_torch({"weights": torch.from_numpy(small)}, path)
        else:
            with atomic_path(path) as partial:
                np.savez(partial, values=small)
        fill(disk, 64 * 1024)
        with pytest.raises(DiskFullError, match=rf"disk is full: {path} was not written \(0\.\d MiB free in {disk}, "
                                                r"or your quota there is used up\)\. Free space there"):
            if write == "torch":
                save_torch({"weights": torch.from_numpy(large)}, path)
            else:
                with atomic_path(path) as partial:
                    np.savez(partial, values=large)
        saved = torch.load(path)["weights"].numpy() if write == "torch" else np.load(path)["values"]
        assert np.array_equal(saved, small)
        assert sorted(p.name for p in disk.iterdir()) == sorted(["filler", path.name])


def test_a_full_disk_only_a_library_saw_is_named_on_the_console():
    store = RuntimeError("(sqlite3.OperationalError) database or disk is full\n[SQL: INSERT INTO metrics ...]")
    assert console_message(store) == ("the disk is full (RuntimeError: (sqlite3.OperationalError) database or disk "
                                      "is full). Free space and rerun: finished outputs and the last saved training "
                                      "state are kept")
    assert console_message(ValueError("bad lr")) == "ValueError: bad lr"
    assert console_message(KeyboardInterrupt()) == ("stopped by Ctrl-C (SIGINT); finished outputs and the last saved "
                                                    "training state are kept: rerun to go on")
