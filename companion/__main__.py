"""``python -m companion``: runs the command line in ``companion.cli``."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
