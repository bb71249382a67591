"""``python -m tui`` runs the ``meshtui`` command."""

import sys

from tui.cli import main

sys.exit(main())
