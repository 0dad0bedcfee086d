"""HTTP routes, one module per group: speech, assistant, OpenAI-compatible, meta, page."""
