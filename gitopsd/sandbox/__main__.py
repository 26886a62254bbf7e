"""``python -m gitopsd.sandbox``: the same as ``gitopsd sandbox``."""

import sys

from .cli import main

sys.exit(main())
