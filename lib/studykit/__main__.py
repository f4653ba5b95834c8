"""``python -m studykit`` = the ``studykit`` command."""
import sys

from studykit.cli import main

if __name__ == "__main__":
    sys.exit(main())
