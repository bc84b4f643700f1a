"""`python -m stic.dev.stack e2e|up|down`: see the package's docstring."""

import sys

from stic.dev.stack.cli import main

sys.exit(main())
