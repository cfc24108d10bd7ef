"""Features: token ids and TF-IDF for text, log-mel or MFCC frames and their statistics for speech."""

# The files of one dataset's features folder, by what they hold; the workflow declares them as outputs.
FEATURE_FILES = {"sequences": "sequences.npz", "tabular": "tabular.npz", "meta": "meta.json",
                 "inputs": "inputs.json"}
