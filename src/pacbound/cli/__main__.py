"""``python -m pacbound.cli``: the pacbound command."""

import sys

from pacbound.cli import main

sys.exit(main())
