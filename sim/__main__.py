"""``python -m sim`` is the ``klad`` command."""

import sys

from sim.app.cli import main

sys.exit(main())
