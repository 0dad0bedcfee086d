"""Entry point: `python -m recipes.espeak_ko OUT_DIR [--limit N] [--jobs N] [--seed N]`."""

from recipes.espeak_ko.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
