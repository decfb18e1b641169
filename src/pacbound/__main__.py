"""``python -m pacbound``: the pacbound command (as is ``python -m pacbound.cli``)."""

import sys

from pacbound.cli import main

sys.exit(main())
