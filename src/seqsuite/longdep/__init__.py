"""The long-dependency lab: synthetic tasks where only the gap length T changes, and the tools to see why
a gated LSTM carries an error signal across the gap that a tanh RNN loses (issue: long-dependency lab)."""
