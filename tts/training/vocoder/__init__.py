"""Training the neural vocoder (tts.vocoder) on `sori prepare` features and their recordings."""
