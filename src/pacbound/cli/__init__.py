"""The ``pacbound`` command.

Argument parsing is ``parser``'s, and each command is one pipeline call (``commands``).

    pacbound bound --kind kl --emp-risk 0.05 --kl 12.3 --n 5000 --delta 0.05 --shift-tv 0.1
    pacbound bound --kind all ... [--json]
    pacbound derive [--latex] [--family KL-SHIFT[-RISK]] [--write FILE | --check FILE]
    pacbound optimum --family linear-exponential --param k1=50 --n 100,1000,10000 [--json]
    pacbound reproduce [--preset quick | --config FILE.toml] [--db PATH] [--out paper_figs]
    pacbound sweep [--preset quick | --config FILE.toml] [--db PATH] [--quiet]
    pacbound figs [--db PATH] [--out paper_figs]
    pacbound compare [--db PATH] [--name NAME] [--json]
    pacbound certify [--preset quick | --config FILE.toml] [--db PATH] [--out paper_figs]
    pacbound predict paper_figs/NAME_report.json [--out paper_figs]
    pacbound recommend PILOTS.csv --budget N [--json]   (or --db PATH --name NAME)
    pacbound probe --preset quick --bucket hard --budget 64 --level 6
    pacbound export [--db PATH] --format csv|json [--outcomes] [--out FILE]
    pacbound replicate COMMITTED_report.json RERUN_report.json [--json]

A user's mistake (a bad flag, a value out of range, a missing file) prints one line on
stderr and exits with status 2; no traceback.
"""

from __future__ import annotations

import sys

from pacbound.cli.commands import COMMANDS
from pacbound.cli.parser import UsageError, build_parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser(__doc__.split("\n\n")[0]).parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, ValueError) as error:
        print(
            f"pacbound: error: {error}" if isinstance(error, ValueError) else str(error),
            file=sys.stderr,
        )
        return 2
