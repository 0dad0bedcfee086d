"""Allow `python -m sori`."""

import sys

from sori.cli import main

sys.exit(main())
