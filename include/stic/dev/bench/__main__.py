"""`python -m stic.dev.bench [--quick …]`: the benchmark, as `stic bench`; `_worker` is figure 2's ingest."""

import sys

from stic.dev.bench.cli import _main

sys.exit(_main(sys.argv[1:]))
