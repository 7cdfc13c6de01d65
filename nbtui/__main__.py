"""`python -m nbtui` runs the same entry point as the `nbtui` script."""

import sys

from nbtui.cli import main

if __name__ == "__main__":
    sys.exit(main())
