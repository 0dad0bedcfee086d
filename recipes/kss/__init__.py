"""The KSS recipe: prepare, train and export a Korean voice from a KSS-layout corpus (see README.md)."""
