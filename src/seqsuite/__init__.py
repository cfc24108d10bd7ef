"""seqsuite: when do gated recurrent networks beat plain RNNs and MLPs, measured on real data."""

__version__ = "0.1.0"
