"""The training data as the loop reads it: a split that hands out (model inputs, targets) for example indices."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from scipy import sparse
from torch.nn.utils.rnn import pad_sequence

Inputs = tuple[torch.Tensor, ...]


class Batches(Protocol):
    """A split that hands out (model inputs, targets) for a set of example indices."""

    def __len__(self) -> int: ...

    def batch(self, index: Any) -> tuple[Inputs, torch.Tensor]: ...


@dataclass
class SequenceData:
    """Variable-length sequences (token ids (T,) or frames (T, C)), padded per batch."""

    sequences: list[torch.Tensor]
    labels: torch.Tensor
    pad_value: float = 0

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, index: np.ndarray) -> tuple[Inputs, torch.Tensor]:
        """Padded inputs (B, T[, C]) and their lengths (B,), with targets (B,)."""
        chosen = [self.sequences[i] for i in index]
        lengths = torch.tensor([len(s) for s in chosen], dtype=torch.long)
        padded = pad_sequence(chosen, batch_first=True, padding_value=self.pad_value)
        return (padded, lengths), self.labels[index]


DENSE_TABULAR_LIMIT = 2**25  # values (128 MiB of float32) up to which a split's rows are made dense once


@dataclass
class TabularData:
    """Fixed-size rows of a sparse matrix: made dense once when small (FSDD's MFCC statistics: scipy's per-batch
    slicing cost more than the model), handed out sparse otherwise (MR's TF-IDF, 50,000 columns, 33 of them
    non-zero in a row on average), for the model to make dense where it runs (seqsuite.models.mlp): on a GPU only the
    non-zero values cross the bus, not a dense 64 x 50,000 block densified on the CPU."""

    matrix: sparse.csr_matrix
    labels: torch.Tensor
    dense: torch.Tensor | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        rows, columns = self.matrix.shape
        self.dense = torch.from_numpy(self.matrix.toarray()) if rows * columns <= DENSE_TABULAR_LIMIT else None

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, index: np.ndarray) -> tuple[Inputs, torch.Tensor]:
        """Inputs (B, D), dense or sparse (COO), with targets (B,)."""
        if self.dense is not None:
            return (self.dense[index],), self.labels[index]
        return (sparse_rows(self.matrix[index]),), self.labels[index]


def sparse_rows(rows: sparse.csr_matrix) -> torch.Tensor:
    """CSR rows as a torch sparse COO tensor with the same shape and values: its to_dense() equals toarray()."""
    # canonical (sorted, unique entries; TF-IDF rows already are), so that marking the tensor coalesced is true: a
    # GPU's to_dense() of a tensor marked coalesced adds its entries without atomics. scipy has checked the
    # indices against the shape, so torch need not check them again.
    coo = rows.tocoo()
    coo.sum_duplicates()
    indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
    return torch.sparse_coo_tensor(indices, torch.from_numpy(coo.data), coo.shape, is_coalesced=True,
                                   check_invariants=False)


def model_batches(tabular: bool, sequences: list[np.ndarray], rows: sparse.csr_matrix, labels: torch.Tensor,
                  pad_value: float) -> SequenceData | TabularData:
    """A split as a model reads it: its rows for the MLP (tabular), its sequences, padded per batch, for the
    recurrent models. Training and a logged model's predictions both call this."""
    if tabular:
        return TabularData(rows, labels)
    return SequenceData([torch.from_numpy(x) for x in sequences], labels, pad_value=pad_value)


@dataclass
class TensorData:
    """Equal-length sequences in one tensor x (N, T, C) with targets y (N,): the lab's generated sets."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def batch(self, index: torch.Tensor) -> tuple[Inputs, torch.Tensor]:
        """Inputs (B, T, C) with targets (B,)."""
        return (self.x[index],), self.y[index]
