"""The training data as the loop reads it: a split that hands out (model inputs, targets) for example indices,
ready on the device the model runs on."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from scipy import sparse
from torch.nn.utils.rnn import pad_sequence

from seqsuite.devices import CPU, to_device

Inputs = tuple[torch.Tensor, ...]
log = logging.getLogger("seqsuite")


class Batches(Protocol):
    """A split that hands out (model inputs, targets) for sets of example indices, on its device."""

    device: torch.device

    def __len__(self) -> int: ...

    def batches(self, indices: Iterable[Any]) -> Iterator[tuple[Inputs, torch.Tensor]]: ...


class OneByOne(ABC):
    """Batches made one at a time from indices on the host."""

    @abstractmethod
    def batch(self, index: Any) -> tuple[Inputs, torch.Tensor]:
        """Inputs and targets for one set of indices."""

    def batches(self, indices: Iterable[Any]) -> Iterator[tuple[Inputs, torch.Tensor]]:
        """Each set of indices' batch, in order, each drawn as it is asked for."""
        return (self.batch(index) for index in indices)


@dataclass
class SequenceData(OneByOne):
    """Variable-length sequences (token ids (T,) or frames (T, C)), padded per batch on the host."""

    sequences: list[torch.Tensor]
    labels: torch.Tensor
    pad_value: float = 0
    device: torch.device = CPU

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, index: np.ndarray) -> tuple[Inputs, torch.Tensor]:
        """Padded inputs (B, T[, C]) and targets (B,) on the device, the lengths (B,) on the host."""
        # packing reads the lengths on the host: from a GPU they would come back waiting for its queued work
        chosen = [self.sequences[i] for i in index]
        lengths = torch.tensor([len(s) for s in chosen], dtype=torch.long)
        padded = pad_sequence(chosen, batch_first=True, padding_value=self.pad_value)
        return (to_device(padded, self.device), lengths), to_device(self.labels[index], self.device)


DENSE_TABULAR_LIMIT = 2**25  # values (128 MiB of float32) up to which a split's rows are made dense once
# Padded rows (12 bytes a slot) are kept while they take at most this many times the matrix's entries, or at most
# this many slots (192 MiB) whatever they take: one long row sets every row's width.
PADDED_ROWS_GROWTH = 4
PADDED_ROWS_FLOOR = 2**24


@dataclass
class TabularData:
    """Fixed-size rows of a sparse matrix, kept on the device: made dense once when small (FSDD's MFCC statistics),
    else as padded rows (MR's TF-IDF: 50,000 columns, 33 of them non-zero in a row on average), each batch's made
    dense where the model runs. No batch then waits on the host: scipy's row slicing took longer than a GPU's
    update of the MLP, and only a round's indices cross to the device. Rows too uneven to pad (pads_well) stay on
    the host and each batch is made dense there: the same values, but an update on a GPU waits for them."""

    matrix: sparse.csr_matrix
    labels: torch.Tensor
    device: torch.device = CPU
    dense: torch.Tensor | None = field(init=False, default=None)
    columns: torch.Tensor | None = field(init=False, default=None)
    values: torch.Tensor | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        rows, width = self.matrix.shape
        if rows * width <= DENSE_TABULAR_LIMIT:
            self.dense = torch.from_numpy(self.matrix.toarray()).to(self.device)
        elif pads_well(self.matrix):
            columns, values = padded_rows(self.matrix)
            self.columns, self.values = columns.to(self.device), values.to(self.device)
        else:
            counts = np.diff(self.matrix.indptr)
            log.info("rows of %d to %d entries (%.1f on average) are too uneven to pad: each batch is made dense on "
                     "the host", counts.min(), counts.max(), counts.mean())
        self.labels = self.labels.to(self.device)

    def __len__(self) -> int:
        return len(self.labels)

    def batches(self, indices: Iterable[np.ndarray]) -> Iterator[tuple[Inputs, torch.Tensor]]:
        """Each set of indices' batch, in order; the indices go to the device in one copy."""
        indices = list(indices)
        if not indices:
            return iter(())
        index = to_device(torch.from_numpy(np.concatenate(indices)), self.device)
        return (self.batch(host, chosen)
                for host, chosen in zip(indices, index.split([len(i) for i in indices]), strict=True))

    def batch(self, host: np.ndarray, index: torch.Tensor) -> tuple[Inputs, torch.Tensor]:
        """Dense inputs (B, D) with targets (B,), for the same indices on the host and on the device."""
        if self.dense is not None:
            rows = self.dense[index]
        elif self.columns is not None:
            rows = torch.zeros(len(index), self.matrix.shape[1], dtype=self.values.dtype, device=self.device)
            rows.scatter_(1, self.columns[index], self.values[index])
        else:
            rows = to_device(torch.from_numpy(self.matrix[host].toarray()), self.device)
        return (rows,), self.labels[index]


def pads_well(matrix: sparse.csr_matrix) -> bool:
    """Whether the matrix's padded rows take at most PADDED_ROWS_GROWTH times its entries, or at most
    PADDED_ROWS_FLOOR slots (entries as stored: a repeated column counts on both sides)."""
    slots = matrix.shape[0] * max(int(np.diff(matrix.indptr).max(initial=0)), 1)
    return slots <= max(PADDED_ROWS_GROWTH * matrix.nnz, PADDED_ROWS_FLOOR)


def padded_rows(matrix: sparse.csr_matrix) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's column indices and values (rows, longest row), the shorter rows padded by repeating their last
    entry (a row without any: column 0, value 0), so that writing a row's entries into zeros gives its dense row
    whatever the order of the writes: the same values as toarray()."""
    if not matrix.has_canonical_format:  # unique columns: the only repeated writes are padding, of equal values
        matrix = matrix.copy()
        matrix.sum_duplicates()
    counts = np.diff(matrix.indptr)
    slots = np.minimum(np.arange(max(counts.max(initial=0), 1))[None, :], counts[:, None] - 1)
    positions = np.where(counts[:, None] > 0, matrix.indptr[:-1, None] + slots, matrix.nnz)  # nnz: the empty entry
    columns = np.append(matrix.indices, 0).astype(np.int64)[positions]
    # + 0: a stored -0.0 becomes +0.0, as toarray() (which adds entries into zeros) makes it
    values = np.append(matrix.data, matrix.dtype.type(0))[positions] + matrix.dtype.type(0)
    return torch.from_numpy(columns), torch.from_numpy(values)


def model_batches(tabular: bool, sequences: list[np.ndarray], rows: sparse.csr_matrix, labels: torch.Tensor,
                  pad_value: float, device: torch.device = CPU) -> SequenceData | TabularData:
    """A split as a model reads it on the device: its rows for the MLP (tabular), its sequences, padded per batch,
    for the recurrent models. Training and a logged model's predictions both call this."""
    if tabular:
        return TabularData(rows, labels, device)
    return SequenceData([torch.from_numpy(x) for x in sequences], labels, pad_value=pad_value, device=device)


@dataclass
class TensorData(OneByOne):
    """Equal-length sequences in one tensor x (N, T, C) with targets y (N,): the lab's generated sets (on the CPU)."""

    x: torch.Tensor
    y: torch.Tensor

    @property
    def device(self) -> torch.device:
        return self.x.device

    def __len__(self) -> int:
        return len(self.y)

    def batch(self, index: torch.Tensor) -> tuple[Inputs, torch.Tensor]:
        """Inputs (B, T, C) with targets (B,)."""
        return (self.x[index],), self.y[index]
