"""Voices bundled with Sori, installed as package data (each a directory: config.json + model.safetensors)."""
