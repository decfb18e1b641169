"""The documentation runs: every code block of README.md and docs/*.md, with its output.

The conventions a block follows (a failure names the file and the line of its block):

- ```python blocks run in order, the blocks of one file in one namespace, in a workspace: a
  temporary working directory holding copies of experiments/, theory/ and the text files of
  paper_figs/ (no images), with the tests' tiny store at pacbound-results/results.sqlite,
  where the main job leaves its store. In the workspace the quick preset is the tests' tiny
  experiment (tests/data/tiny.toml, the experiment of that store), so code written for the
  main job's results runs on it in seconds.
- ```console, ```bash, ```sh and ```shell blocks: a line starting with `$ ` (or with
  `pacbound `) is a command and the lines after it, up to the next command, are what it
  prints; in bash, sh and shell blocks every line but comments is a command and no output is
  shown. A line ending in a backslash continues; `a && b` is two commands. `pacbound`
  commands run in the workspace through `pacbound.cli.main`, in-process, except those of
  LONG, which take minutes: those are parsed by the command's own parser (a bad flag or an
  unknown preset fails) and run only in the `slow` test. Lines of the set-up's programs
  (SETUP: pip, python) are not run; any other program fails the test, so that adding one is
  a decision.
- Output is compared line by line after removing trailing whitespace and trailing blank
  lines. A line that is only `…` (or `...`) stands for any number of lines, so a long output
  can be shown in part. The comparison is with stdout and the status must be 0, except for an
  output showing an error (a line containing `error:`): that is compared with stderr, and
  the status must be 2. A command shown without output must exit with status 0.
- ```toml blocks that are experiments (they have a top-level `name`) are loaded by the
  config loader; other TOML blocks must parse.
"""

from __future__ import annotations

import difflib
import functools
import re
import shlex
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

#: Subcommands that take from half a minute to hours on real presets (derive solves every
#: closed form; figs draws every figure): checked by the parser, run only in the slow test.
LONG = {"reproduce", "sweep", "certify", "probe", "weights", "derive", "figs"}
#: Programs of the set-up (installing, running the tests), shown and not run.
SETUP = {"pip", "python"}
SHELLS = {"console", "bash", "sh", "shell", "shell-session"}
ELLIPSIS = {"…", "..."}


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence
    lang: str
    lines: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


@dataclass(frozen=True)
class Command:
    line: int
    argv: tuple[str, ...]
    output: tuple[str, ...] | None  # None: none shown


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file (in a list item too: their indent removed)."""
    found, lang, start, indent, body = [], None, 0, 0, []
    for number, text in enumerate(path.read_text().splitlines(), 1):
        if text.lstrip().startswith("```"):
            if lang is None:
                indent = len(text) - len(text.lstrip())
                lang, start, body = text.strip()[3:].strip().split(" ")[0].lower(), number, []
            else:
                found.append(Block(path, start, lang, tuple(body)))
                lang = None
        elif lang is not None:
            body.append(text.lstrip() if text[:indent].strip() else text[indent:])
    assert lang is None, f"{path.relative_to(ROOT)}:{start}: the block is never closed"
    return found


ALL = [block for path in DOCS for block in blocks(path)]


def commands(block: Block) -> list[Command]:
    """The block's commands, each with the output shown after it (console blocks only)."""
    found: list[list] = []  # [line, text, output lines]
    continued = False
    for number, text in enumerate(block.lines, block.line + 1):
        if continued:
            found[-1][1] = found[-1][1][:-1] + " " + text
        elif text.startswith("$ ") or text.startswith("pacbound "):
            found.append([number, text.removeprefix("$ "), []])
        elif block.lang != "console":
            if text.strip() and not text.lstrip().startswith("#"):
                found.append([number, text, []])
        elif found:
            found[-1][2].append(text)
        elif text.strip():
            raise AssertionError(f"{block.where}: output before any command: {text!r}")
        continued = found and found[-1][1].endswith("\\")
    result = []
    for number, text, output in found:
        shown = tuple(output) if block.lang == "console" and "".join(output).strip() else None
        for argv in _split(text, f"{block.where} (line {number})"):
            result.append(Command(number, argv, shown))
    return result


def _split(text: str, where: str) -> list[tuple[str, ...]]:
    """``a && b`` as [a, b]; any other shell syntax is an error."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split, lexer.commenters = True, "#"
    parts: list[list[str]] = [[]]
    for token in lexer:
        if token == "&&":
            parts.append([])
        elif token and set(token) <= set(lexer.punctuation_chars):
            raise AssertionError(f"{where}: {token!r} is not supported in a doc command")
        else:
            parts[-1].append(token)
    return [tuple(part) for part in parts if part]


def is_long(argv: tuple[str, ...]) -> bool:
    return argv[0] == "pacbound" and len(argv) > 1 and argv[1] in LONG


def shell_params(long: bool) -> list:
    """The shell blocks with a pacbound command that is long (or not)."""
    return [
        pytest.param(block, id=block.where)
        for block in ALL
        if block.lang in SHELLS
        and any(c.argv[0] == "pacbound" and is_long(c.argv) == long for c in commands(block))
    ]


# --- comparison ---------------------------------------------------------------------------


def normalize(lines) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def matches(shown: list[str], printed: list[str]) -> bool:
    """Whether ``printed`` is ``shown``, a line of ``…`` standing for any run of lines."""

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(shown):
            return j == len(printed)
        if shown[i] in ELLIPSIS:
            return any(match(i + 1, k) for k in range(j, len(printed) + 1))
        return j < len(printed) and shown[i] == printed[j] and match(i + 1, j + 1)

    return match(0, 0)


# --- the workspace ------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path, monkeypatch, tiny, tiny_store) -> Path:
    """A working directory with the repository's inputs and the tiny store as the main job's
    (the quick preset there is the tiny experiment)."""
    from pacbound import config

    text_only = shutil.ignore_patterns("*.png", "*.pdf")
    for folder in ("experiments", "theory", "paper_figs"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=text_only)
    shutil.copyfile(tiny, tmp_path / "experiments" / "quick.toml")
    (tmp_path / "pacbound-results").mkdir()
    for part in tiny_store.parent.glob(tiny_store.name + "*"):  # with its WAL, if any
        shutil.copyfile(
            part,
            tmp_path / "pacbound-results" / part.name.replace(tiny_store.name, "results.sqlite"),
        )
    monkeypatch.setattr(config, "PRESET_DIR", tmp_path / "experiments")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- the tests ----------------------------------------------------------------------------


def test_every_block_is_of_a_known_kind():
    """The collection itself: the docs hold blocks of each kind the tests run, no other, and
    their commands are pacbound's or the set-up's."""
    langs = {block.lang for block in ALL}
    assert {"python", "console"} <= langs, langs
    unknown = langs - SHELLS - {"python", "toml", "text", ""}
    assert not unknown, f"blocks of a kind no test runs: {sorted(unknown)}"
    known = {"pacbound", *SETUP}
    strangers = [
        f"{block.where} (line {command.line}): {shlex.join(command.argv)}"
        for block in ALL
        if block.lang in SHELLS
        for command in commands(block)
        if command.argv[0] not in known
    ]
    assert not strangers, f"commands of programs other than {sorted(known)}: {strangers}"


@pytest.mark.parametrize(
    "path",
    [p for p in DOCS if any(b.lang == "python" for b in blocks(p))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_python_blocks_run(path, workspace):
    namespace = {"__name__": "__main__"}
    for block in blocks(path):
        if block.lang != "python":
            continue
        # Blank lines first, so that a traceback's line numbers are the doc's own.
        code = compile("\n" * block.line + "\n".join(block.lines), str(path), "exec")
        try:
            exec(code, namespace)
        except Exception as error:
            raise AssertionError(
                f"{block.where}: the python block raised {type(error).__name__}: {error}"
            ) from error


def run(command: Command, where: str, capsys) -> None:
    """Run one command in-process and compare what it prints with what the doc shows."""
    from pacbound.cli import main

    if command.argv[0] != "pacbound":
        return  # the set-up's (test_every_block_is_of_a_known_kind)
    line = f"{where} (line {command.line}) `{shlex.join(command.argv)}`"
    capsys.readouterr()
    try:
        status = main(list(command.argv[1:]))
    except Exception as error:
        raise AssertionError(f"{line} raised {type(error).__name__}: {error}") from error
    out, err = capsys.readouterr()
    shown = normalize(command.output or ())
    error = any("error:" in text for text in shown)
    expected = 2 if error else 0
    assert status == expected, f"{line}: exit status {status}, not {expected}\nstderr: {err}"
    if command.output is None:
        return
    printed = normalize((err if error else out).splitlines())
    if not matches(shown, printed):
        diff = "\n".join(difflib.unified_diff(shown, printed, "shown", "printed", lineterm=""))
        raise AssertionError(f"{line}: the output differs from the doc's\n{diff}")


@pytest.mark.parametrize("block", shell_params(long=False))
def test_commands_print_what_the_docs_show(block, workspace, capsys):
    for command in commands(block):
        if not is_long(command.argv):
            run(command, block.where, capsys)


def parsed(command: Command, where: str):
    """A long command's arguments as its parser reads them; its preset must exist."""
    from pacbound.cli.parser import UsageError, build_parser
    from pacbound.config import preset_path

    line = f"{where} (line {command.line}) `{shlex.join(command.argv)}`"
    try:
        args = build_parser().parse_args(list(command.argv[1:]))
    except (UsageError, SystemExit) as error:
        raise AssertionError(f"{line}: the parser refuses it: {error}") from None
    if getattr(args, "preset", None):
        try:
            preset_path(args.preset)
        except ValueError as error:
            raise AssertionError(f"{line}: {error}") from None
    return args


@pytest.mark.parametrize("block", shell_params(long=True))
def test_long_commands_parse(block):
    for command in commands(block):
        if is_long(command.argv):
            parsed(command, block.where)


@pytest.mark.slow
@pytest.mark.parametrize("block", shell_params(long=True))
def test_long_commands_run(block, workspace, capsys):
    """The long commands themselves, in the workspace: the quick preset (the default) is the
    tiny one there; a command on another preset would take minutes to hours and is left
    out."""
    for command in filter(lambda c: is_long(c.argv), commands(block)):
        preset = getattr(parsed(command, block.where), "preset", None)
        if preset not in (None, "quick"):
            pytest.skip(f"{block.where}: --preset {preset} is not run by a test")
    for command in commands(block):
        run(command, block.where, capsys)


@pytest.mark.parametrize("block", [pytest.param(b, id=b.where) for b in ALL if b.lang == "toml"])
def test_toml_blocks_load(block, tmp_path):
    from pacbound.config import load_all

    text = "\n" * block.line + "\n".join(block.lines)  # the loader's line numbers: the doc's
    try:
        raw = tomllib.loads(text)
        if "name" in raw:
            path = tmp_path / f"{block.path.stem}.toml"
            path.write_text(text)
            load_all(path)
    except (tomllib.TOMLDecodeError, ValueError) as error:
        raise AssertionError(f"{block.where}: {error}") from None


def test_dotted_names_resolve():
    """Every `pacbound.…` path in a code span of the docs is a module or one of its
    attributes."""
    import importlib

    missing = []
    for path in DOCS:
        text = path.read_text()
        for span in re.finditer(r"`([^`]+)`", text):
            for name in re.findall(r"\bpacbound(?:\.\w+)+", span.group(1)):
                parts = name.split(".")
                for stop in range(len(parts), 0, -1):
                    try:
                        found = importlib.import_module(".".join(parts[:stop]))
                        break
                    except ModuleNotFoundError:
                        continue
                for part in parts[stop:]:
                    found = getattr(found, part, None)
                if found is None:
                    line = text.count("\n", 0, span.start()) + 1
                    missing.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert not missing, "names the docs give that do not exist:\n" + "\n".join(missing)


@pytest.mark.parametrize(
    ("shown", "printed", "expected"),
    [
        (["a", "…", "d"], ["a", "b", "c", "d"], True),
        (["a", "…", "d"], ["a", "d"], True),
        (["a", "...", "d"], ["a", "b"], False),
        (["a", "b"], ["a", "b", "c"], False),
        (["…"], [], True),
    ],
)
def test_ellipsis_lines_match_any_run_of_lines(shown, printed, expected):
    assert matches(shown, printed) is expected


def test_commands_are_read_as_the_conventions_say():
    block = Block(
        ROOT / "README.md",
        1,
        "console",
        ("$ pacbound bound --kind kl \\", "  --n 5 && pip install -e '.[test]'", "out", ""),
    )
    first, second = commands(block)
    assert first.argv == ("pacbound", "bound", "--kind", "kl", "--n", "5")
    assert second.argv == ("pip", "install", "-e", ".[test]")
    assert first.output == second.output == ("out", "")
    bash = Block(ROOT / "README.md", 1, "bash", ("# a comment", "pacbound figs", "x | y"))
    with pytest.raises(AssertionError, match="'|' is not supported"):
        commands(bash)
