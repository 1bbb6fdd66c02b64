"""``python -m engine``: see engine/cli.py."""

import sys

from engine.cli import main

if __name__ == "__main__":  # not when a spawned worker process imports this module
    sys.exit(main())
