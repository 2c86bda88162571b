"""``python -m sketchcolor.train`` (and ``torchrun ... -m sketchcolor.train``): run :func:`main`."""

import sys

from sketchcolor.train.cli import main

sys.exit(main())
