"""``python -m baton`` runs the CLI."""

import sys

from baton.cli import main

sys.exit(main())
