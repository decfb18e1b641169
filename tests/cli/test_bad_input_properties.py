"""Properties of `pacbound recommend` and `pacbound predict` on mutated input: a valid pilot
file or comparison report with fields, cells or lines replaced, deleted, mistyped or cut
short either works (exit 0) or is refused in exactly one line on stderr (exit 2), never with
a traceback; and nothing outside --out is created or changed."""

import functools
import json
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacbound.analysis import predict
from pacbound.analysis import recommend as recommend_module
from pacbound.cli import main
from pacbound.report import figures

ROOT = Path(__file__).parents[2]
PAPER_FIGS = ROOT / "paper_figs"
PILOTS = (ROOT / "experiments" / "pilots-example.csv").read_text()
REPORT_FILE = PAPER_FIGS / "solvable_report.json"  # the smallest grid with every input
REPORT = json.loads(REPORT_FILE.read_text())

# Few examples, each fast (few resamples, no figure drawn): the suite's budget is minutes.
SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
CELLS = st.sampled_from(
    ["", " ", "-8", "0", "2.5", "abc", "nan", "inf", "1e400", "0.5", "1.5", '"', "\x00", "hard"]
) | st.text(max_size=4)


def stamps(folder: Path) -> dict[str, tuple[int, int]]:
    """{relative path: (size, modification time)} of every file under ``folder``: a file
    created, removed or written shows."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


@contextmanager
def fast_commands():
    """The commands with few resamples and no figure drawn (its file still written, into
    the folder it is given), so that each example takes a fraction of a second."""

    def no_figure(evaluation, buckets, out_dir, stem):
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{stem}_predictions.png"
        path.write_bytes(b"figure")
        return [path]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(predict, "evaluate", functools.partial(predict.evaluate, resamples=3))
        patch.setattr(predict, "VALIDATION_DRAWS", 20)
        patch.setattr(
            recommend_module,
            "recommend",
            functools.partial(recommend_module.recommend, resamples=10),
        )
        patch.setattr(figures, "predictions_by_budget", no_figure)
        yield


def run_and_check(argv: list[str], folder: Path, inputs: list[Path], out: Path | None, capsys):
    """Run ``argv``; exit 0, or 2 with one stderr line; nothing but ``out`` (and the inputs,
    unchanged) in ``folder``, and paper_figs untouched."""
    committed = stamps(PAPER_FIGS)
    given_files = {p: p.read_bytes() for p in inputs}
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code in (0, 2), err
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("pacbound: error: "), err
    allowed = {p.name for p in inputs} | ({out.name} if out is not None else set())
    assert {p.name for p in folder.iterdir()} <= allowed
    assert all(p.read_bytes() == content for p, content in given_files.items())
    assert stamps(PAPER_FIGS) == committed


@st.composite
def mutated_pilots(draw) -> tuple[str, str]:
    """(text, extension) of the example pilot file with 1–3 of its cells or lines replaced,
    deleted or duplicated, or cut short; or as JSON Lines with a field mistyped."""
    lines = PILOTS.rstrip("\n").split("\n")
    if draw(st.booleans()) and draw(st.booleans()):  # JSON Lines, a field replaced or dropped
        header = lines[0].split(",")
        rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
        i = draw(st.integers(0, len(rows) - 1))
        field = draw(st.sampled_from(header))
        if draw(st.booleans()):
            rows[i][field] = draw(JSON_VALUES)
        else:
            rows[i].pop(field)
        text = "\n".join(json.dumps(row) for row in rows) + "\n"
        if draw(st.booleans()):
            text = text[: draw(st.integers(0, len(text)))]
        return text, ".jsonl"
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        cells = lines[i].split(",")
        operation = draw(st.sampled_from(["replace", "delete cell", "delete line", "duplicate"]))
        if operation == "replace":
            cells[draw(st.integers(0, len(cells) - 1))] = draw(CELLS)
            lines[i] = ",".join(cells)
        elif operation == "delete cell":
            cells.pop(draw(st.integers(0, len(cells) - 1)))
            lines[i] = ",".join(cells)
        elif operation == "delete line" and len(lines) > 1:
            lines.pop(i)
        else:
            lines.insert(i, lines[i])
    text = "\n".join(lines) + "\n"
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    extension = draw(st.sampled_from([".csv", ".csv", ".csv", ".txt"]))
    return text, extension


@settings(SETTINGS, max_examples=40)
@given(pilots=mutated_pilots(), budget=st.sampled_from(["64", "8", "0"]))
def test_recommend_on_a_mutated_pilot_file(pilots, budget, capsys):
    text, extension = pilots
    with tempfile.TemporaryDirectory() as name, fast_commands():
        folder = Path(name)
        path = folder / f"pilots{extension}"
        path.write_text(text)
        run_and_check(["recommend", str(path), "--budget", budget], folder, [path], None, capsys)


def _paths(value, prefix=()) -> list[tuple]:
    """Every path to a value of the report that the predictions read (and the top-level
    keys, and each protocol of the embedded predictions)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            if prefix == () and key not in ("per_budget", "mean_terms", "predictions"):
                found.append((key,))
            elif prefix and prefix[0] == "predictions" and len(prefix) >= 3:
                found.append((*prefix, key))  # a predictor's row, as a whole
            else:
                found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


READ = [
    p
    for p in _paths(REPORT)
    if len(p) < 2
    or p[0] != "per_budget"
    or len(p) < 3
    or p[2] in ("target_error_seeds", "level_errors", "bound", "certificate_informative")
]


@st.composite
def mutated_report(draw) -> str:
    """The solvable report's JSON with 1–3 of the fields it is read by replaced (by any JSON
    value) or deleted, or its text cut short."""
    report = json.loads(json.dumps(REPORT))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(READ))
        parent = report
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()):
                parent[path[-1]] = draw(JSON_VALUES)
            elif isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent.pop(path[-1])
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or retyped the path
    text = json.dumps(report)
    if draw(st.booleans()) and draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text) - 1))]
    return text


@settings(SETTINGS, max_examples=20)
@given(text=mutated_report())
def test_predict_on_a_mutated_report(text, capsys):
    with tempfile.TemporaryDirectory() as name, fast_commands():
        folder = Path(name)
        path, out = folder / "solvable_report.json", folder / "out"
        path.write_text(text)
        run_and_check(["predict", str(path), "--out", str(out)], folder, [path], out, capsys)
