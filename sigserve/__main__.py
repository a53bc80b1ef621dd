"""``python -m sigserve`` is the ``sigserve`` command."""

import sys

from sigserve.cli.main import main

sys.exit(main())
