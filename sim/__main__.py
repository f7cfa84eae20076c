"""``python -m sim`` is the ``klad`` command."""

import sys

from sim.app.start import main

sys.exit(main())
