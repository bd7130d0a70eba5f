"""``python -m benchmark.cli ...`` (and ``torchrun ... -m benchmark.cli embed ...``): the ``bench`` command."""

import sys

from benchmark.cli import main

sys.exit(main())
