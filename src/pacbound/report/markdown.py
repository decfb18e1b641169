"""What every Markdown report shares: table rules, numbers or a dash, yes/no, and writing a
report as a .md/.json pair."""

from __future__ import annotations

import json
from pathlib import Path

NONE = "—"  # a value that does not exist (no prediction, no interval)


def rule(columns: int) -> str:
    """The rule line under a Markdown table header of ``columns`` columns."""
    return "|" + "---|" * columns


def header(*columns: str) -> list[str]:
    """A Markdown table's header and rule lines."""
    return ["| " + " | ".join(columns) + " |", rule(len(columns))]


def shown(value, digits: int = 2) -> str:
    """A number with ``digits`` decimals, or a dash for None."""
    return NONE if value is None else f"{value:.{digits}f}"


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def write_pair(folder, stem: str, markdown_text: str, data: dict) -> tuple[Path, Path]:
    """<folder>/<stem>.md and <folder>/<stem>.json (indent 1, trailing newline)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    markdown, document = folder / f"{stem}.md", folder / f"{stem}.json"
    markdown.write_text(markdown_text)
    document.write_text(json.dumps(data, indent=1) + "\n")
    return markdown, document
