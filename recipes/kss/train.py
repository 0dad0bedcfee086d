"""Recipe step 2: `python recipes/kss/train.py --features DIR --run-dir DIR [--key=value ...]`.

The same as `sori train`; on N GPUs: `torchrun --nproc_per_node=N recipes/kss/train.py ...`.
"""

from __future__ import annotations

import sys

from sori.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
