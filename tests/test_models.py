"""Models: padding never changes a prediction; the LSTM variants start as their entries say; unknown names list
the valid ones."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from seqsuite.models import MODELS
from seqsuite.models.build import ArchitectureConfig, InputSpec, build_model, count_parameters
from seqsuite.models.cells import GatedLSTMCell, explicit_cell, unroll
from seqsuite.models.recurrent import OPEN_FORGET_BIAS, pack, unpack

TEXT = InputSpec(n_outputs=3, vocab_size=50, pad_index=0)
SPEECH = InputSpec(n_outputs=3, sequence_dim=6)


def sequences(inputs: InputSpec) -> list[torch.Tensor]:
    torch.manual_seed(0)
    lengths = [2, 9, 5, 1]
    if inputs.vocab_size:
        return [torch.randint(1, inputs.vocab_size, (n,)) for n in lengths]
    return [torch.randn(n, inputs.sequence_dim) for n in lengths]


@pytest.mark.parametrize("cell", [name for name, entry in MODELS.items() if entry.layer])
@pytest.mark.parametrize("inputs", [TEXT, SPEECH], ids=["text", "speech"])
@pytest.mark.parametrize("readout", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_does_not_change_a_prediction(cell, inputs, readout, bidirectional):
    arch = ArchitectureConfig(hidden_size=8, num_layers=2, bidirectional=bidirectional, readout=readout,
                              embedding_dim=4, dropout=0.3)
    model = build_model(cell, inputs, arch).eval()
    seqs = sequences(inputs)
    batch = pad_sequence(seqs, batch_first=True, padding_value=0)
    lengths = torch.tensor([len(s) for s in seqs])
    together = model(batch, lengths)
    for i, seq in enumerate(seqs):
        alone = model(seq[None], torch.tensor([len(seq)]))
        torch.testing.assert_close(alone[0], together[i], rtol=1e-5, atol=1e-6)
    extra = torch.nn.functional.pad(batch, (0, 0, 0, 7) if inputs.sequence_dim else (0, 7))
    torch.testing.assert_close(model(extra, lengths), together, rtol=1e-5, atol=1e-6)


def test_token_ids_without_lengths_count_up_to_the_padding():
    model = build_model("lstm", TEXT, ArchitectureConfig(hidden_size=8, embedding_dim=4)).eval()
    seqs = sequences(TEXT)
    batch = pad_sequence(seqs, batch_first=True)
    torch.testing.assert_close(model(batch), model(batch, torch.tensor([len(s) for s in seqs])))


def test_packing_and_unpacking_with_orders_made_on_the_host_are_torchs():
    inputs = torch.randn(7, 9, 3)
    lengths = torch.tensor([3, 9, 1, 9, 4, 2, 9])  # ties: the sort order must be torch's own
    expected = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
    packed = pack(inputs, lengths)
    assert all(torch.equal(a, b) for a, b in zip(packed, expected, strict=True))
    assert torch.equal(unpack(packed), pad_packed_sequence(expected, batch_first=True)[0])


def test_mlp_maps_vectors_to_logits():
    model = build_model("mlp", InputSpec(n_outputs=4, tabular_dim=10), ArchitectureConfig(hidden_sizes=[16, 8]))
    assert model(torch.randn(5, 10)).shape == (5, 4)
    assert count_parameters(model) == (10 * 16 + 16) + (16 * 8 + 8) + (8 * 4 + 4)


def test_rnn_is_tanh_and_lstm_is_gated():
    rnn = build_model("rnn", SPEECH, ArchitectureConfig(hidden_size=8))
    lstm = build_model("lstm", SPEECH, ArchitectureConfig(hidden_size=8))
    assert isinstance(rnn.recurrent, torch.nn.RNN) and rnn.recurrent.nonlinearity == "tanh"
    assert isinstance(lstm.recurrent, torch.nn.LSTM)
    assert lstm.recurrent.weight_ih_l0.shape[0] == 4 * rnn.recurrent.weight_ih_l0.shape[0]  # i, f, g, o


def test_unknown_model_and_readout_list_the_valid_ones():
    with pytest.raises(ValueError, match=f"unknown model 'transformer'; valid models are {', '.join(MODELS)}"):
        build_model("transformer", SPEECH, ArchitectureConfig())
    with pytest.raises(ValueError, match="unknown readout 'first'; valid readouts are last, mean, max"):
        build_model("rnn", SPEECH, ArchitectureConfig(readout="first"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_padding_invariance_and_a_training_step_on_cuda(cell):
    cuda = torch.device("cuda")
    model = build_model(cell, TEXT, ArchitectureConfig(hidden_size=8, embedding_dim=4, readout="mean")).to(cuda)
    seqs = sequences(TEXT)
    batch = pad_sequence(seqs, batch_first=True).to(cuda)
    lengths = torch.tensor([len(s) for s in seqs])  # lengths stay on the CPU, as pack_padded_sequence wants
    model.eval()
    together = model(batch, lengths)
    alone = model(seqs[1][None].to(cuda), lengths[1:2])
    torch.testing.assert_close(alone[0], together[1], rtol=1e-4, atol=1e-5)
    model.train()
    loss = torch.nn.functional.cross_entropy(model(batch, lengths), torch.tensor([0, 1, 2, 0], device=cuda))
    loss.backward()
    assert all(p.grad is not None and p.grad.is_cuda for p in model.parameters() if p.requires_grad)


def forget_rows(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    lstm, h = model.recurrent, model.recurrent.hidden_size
    return {name: getattr(lstm, name)[h:2 * h].detach().clone()
            for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")}


def test_lstm_variants_start_with_their_forget_bias_and_the_dataset_lstm_with_pytorchs():
    arch = ArchitectureConfig(hidden_size=8, forget_bias=1.0)
    torch.manual_seed(0)
    bias = {name: forget_rows(build_model(name, SPEECH, arch)) for name in ("lstm", "lstm_forget_bias0",
                                                                           "lstm_no_forget_gate")}
    assert torch.all(bias["lstm"]["bias_ih_l0"] + bias["lstm"]["bias_hh_l0"] == 1.0)
    assert torch.all(bias["lstm_forget_bias0"]["bias_ih_l0"] + bias["lstm_forget_bias0"]["bias_hh_l0"] == 0)
    assert torch.all(bias["lstm_no_forget_gate"]["weight_hh_l0"] == 0)
    assert torch.all(bias["lstm_no_forget_gate"]["bias_ih_l0"] == OPEN_FORGET_BIAS)
    torch.manual_seed(0)
    default = forget_rows(build_model("lstm", SPEECH, ArchitectureConfig(hidden_size=8)))
    assert len(set((default["bias_ih_l0"] + default["bias_hh_l0"]).tolist())) == 8  # untouched: random


def test_open_forget_gate_lstm_is_the_1997_cell():
    torch.manual_seed(1)
    model = build_model("lstm_no_forget_gate", SPEECH, ArchitectureConfig(hidden_size=8))
    cell = explicit_cell(model.recurrent)
    assert isinstance(cell, GatedLSTMCell) and not cell.forget_gate
    x = torch.randn(3, 7, 6)
    hidden, gates = unroll(cell, x)
    expected, _ = model.recurrent(x)
    torch.testing.assert_close(torch.stack(hidden, dim=1), expected, rtol=1e-5, atol=1e-6)
    assert torch.all(gates["forget"] == 1.0)


@pytest.mark.parametrize("name", [name for name, entry in MODELS.items() if entry.layer])
def test_every_recurrent_model_has_an_explicit_cell_that_reproduces_it(name):
    torch.manual_seed(2)
    model = build_model(name, SPEECH, ArchitectureConfig(hidden_size=8, forget_bias=1.0))
    x = torch.randn(4, 9, 6)
    hidden, _ = unroll(explicit_cell(model.recurrent), x)
    expected, _ = model.recurrent(x)
    torch.testing.assert_close(torch.stack(hidden, dim=1), expected, rtol=1e-5, atol=1e-6)


def test_mlp_reads_a_sequence_flattened():
    model = build_model("mlp", InputSpec(n_outputs=1, sequence_dim=2, tabular_dim=10), ArchitectureConfig([4]))
    x = torch.randn(3, 5, 2)
    torch.testing.assert_close(model(x), model(x.reshape(3, 10)))
