"""Sori's benchmarks: peers timed side by side in one process, interleaved round by round.

Run with `make bench` (or `python -m bench` inside .venv-bench); results go to bench/RESULTS.md.
"""
