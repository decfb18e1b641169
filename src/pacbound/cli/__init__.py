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
    pacbound predict paper_figs/NAME_report.json [--out FOLDER]
    pacbound recommend PILOTS.csv --budget N [--json]   (or --db PATH --name NAME)
    pacbound probe --preset quick --bucket hard --budget 64 --level 6
    pacbound export [--db PATH] --format csv|json [--outcomes] [--out FILE]
    pacbound replicate COMMITTED_report.json RERUN_report.json [--json]

A user's mistake (a bad flag, a value out of range, a file that is missing, unreadable or
not what it should be) prints one line, ``pacbound: error: …``, on stderr and exits with
status 2; no traceback. An interrupt (Ctrl-C) prints one line and exits with status 130.
Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pacbound.cli.commands import COMMANDS
from pacbound.cli.parser import DEFAULT_DB, UsageError, build_parser

#: Errors of the file system that a user's path can cause; elsewhere they are bugs.
_PATH_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def main(argv: list[str] | None = None) -> int:
    args = None
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as done:  # --help and --version print, then exit
            return done.code or 0
        return COMMANDS[args.command](args)
    except (UsageError, ValueError) as error:  # JSON and TOML decoding errors among them
        return _error(error)
    except _PATH_ERRORS as error:
        if not _user_path(error.filename, args):
            raise
        return _error(f"{error.filename}: {error.strerror}")
    except KeyboardInterrupt:
        print(("\n" if sys.stderr.isatty() else "") + "pacbound: interrupted", file=sys.stderr)
        return 130


def _error(message) -> int:
    """``message`` on one line of stderr, status 2."""
    text = " ".join(line.strip() for line in str(message).splitlines() if line.strip())
    print(f"pacbound: error: {text}", file=sys.stderr)
    return 2


def _user_path(filename, args) -> bool:
    """Whether ``filename`` is, or lies inside or above, a path of the command line or the
    store's folder (the default one included), where the base cache lives too."""
    if filename is None or args is None:
        return False
    given = [(getattr(args, "db", None) or DEFAULT_DB).parent]
    for value in vars(args).values():
        values = value if isinstance(value, list | tuple) else [value]
        given += [v for v in values if isinstance(v, Path)]
    target = Path(os.path.abspath(os.fsdecode(filename)))
    for path in given:
        path = Path(os.path.abspath(path))
        if target == path or path in target.parents or target in path.parents:
            return True
    return False
