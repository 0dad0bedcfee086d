"""Training Sori voices: data preparation from KSS-layout corpora, the training loop, checkpoints, export."""
