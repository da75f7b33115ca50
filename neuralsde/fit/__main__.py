"""``python -m neuralsde.fit``: run the command line and exit with its status."""

import sys

from .run import main

sys.exit(main())
