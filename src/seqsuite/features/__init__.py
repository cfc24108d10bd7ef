"""Features: token ids and TF-IDF for text, log-mel or MFCC frames and their statistics for speech."""
