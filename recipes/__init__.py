"""Recipes from a raw corpus to a served voice (KSS, the espeak-ng bootstrap corpus); run as scripts."""
