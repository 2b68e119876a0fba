"""``python -m baton`` runs the CLI."""

import sys

from baton.cli import main  # by this name: process_exit knows Baton's own process by it

sys.exit(main())
