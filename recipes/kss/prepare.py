"""Recipe step 1: `python recipes/kss/prepare.py KSS_ROOT --out FEATURES_DIR [...]` (same as `sori prepare`)."""

from __future__ import annotations

import sys

from sori.cli import main

if __name__ == "__main__":
    sys.exit(main(["prepare", *sys.argv[1:]]))
