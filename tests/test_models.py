"""Models: padding never changes a prediction; unknown names list the valid ones."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pad_sequence

from seqsuite.models import ArchitectureConfig, InputSpec, build_model, count_parameters

TEXT = InputSpec(n_classes=3, vocab_size=50, pad_index=0)
SPEECH = InputSpec(n_classes=3, sequence_dim=6)


def sequences(inputs: InputSpec) -> list[torch.Tensor]:
    torch.manual_seed(0)
    lengths = [2, 9, 5, 1]
    if inputs.vocab_size:
        return [torch.randint(1, inputs.vocab_size, (n,)) for n in lengths]
    return [torch.randn(n, inputs.sequence_dim) for n in lengths]


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
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


def test_mlp_maps_vectors_to_logits():
    model = build_model("mlp", InputSpec(n_classes=4, tabular_dim=10), ArchitectureConfig(hidden_sizes=[16, 8]))
    assert model(torch.randn(5, 10)).shape == (5, 4)
    assert count_parameters(model) == (10 * 16 + 16) + (16 * 8 + 8) + (8 * 4 + 4)


def test_rnn_is_tanh_and_lstm_is_gated():
    rnn = build_model("rnn", SPEECH, ArchitectureConfig(hidden_size=8))
    lstm = build_model("lstm", SPEECH, ArchitectureConfig(hidden_size=8))
    assert isinstance(rnn.rnn, torch.nn.RNN) and rnn.rnn.nonlinearity == "tanh"
    assert isinstance(lstm.rnn, torch.nn.LSTM)
    assert lstm.rnn.weight_ih_l0.shape[0] == 4 * rnn.rnn.weight_ih_l0.shape[0]  # input, forget, cell, output


def test_unknown_model_and_readout_list_the_valid_ones():
    with pytest.raises(ValueError, match="unknown model 'gru'; valid models are mlp, rnn, lstm"):
        build_model("gru", SPEECH, ArchitectureConfig())
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
