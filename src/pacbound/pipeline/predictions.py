"""The predictions report of a committed comparison report whose store is not at hand
(``pacbound predict``): the report read and checked, its runs evaluated, the result written
to one folder and nowhere else."""

from __future__ import annotations

from pathlib import Path

from pacbound import config as configs
from pacbound.analysis import assumptions, predict
from pacbound.analysis.committed import check_report, not_recomputed
from pacbound.analysis.table import runs_from_report
from pacbound.inputs import read_json
from pacbound.report.markdown import portable
from pacbound.report.predictions import predictions_document, write_predictions_document

EXPECTED_REPORT = "expected a <name>_report.json file"


def read_report(path: Path) -> dict:
    """A comparison report's JSON, its shape checked (``committed.check_report``); anything
    else is a one-line ``ValueError`` naming the file and what was expected."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"report = {path} is a directory; {EXPECTED_REPORT}")
    result = read_json(path, "report")
    try:
        check_report(result)
    except ValueError as error:
        raise ValueError(f"report = {path}: {error}") from None
    return result


def report_predictions(result: dict, source: str = "the report") -> dict:
    """The predictions report's JSON (``portable``) recomputed from a comparison report
    whose store is not at hand, checked against its preset's config hash: every predictor
    the report's runs and seed means allow, with ``not_recomputed`` ({what: why}) naming
    what only the store could give (``committed.not_recomputed``). ``source`` names the
    report in errors."""
    name = result["experiment"]
    try:
        experiments = configs.preset_all(result.get("family") or name)
    except (FileNotFoundError, ValueError):
        raise ValueError(
            f"{source}: experiment {name!r} has no preset of that name to read its grid from"
        ) from None
    found = [e for e in experiments if e.name == name]
    if not found or found[0].hash() != result["config_hash"]:
        raise ValueError(
            f"{source}: the preset of {name!r} no longer has config {result['config_hash']}; "
            "regenerate the report from its store"
        )
    try:
        table = runs_from_report(result, found[0], seed_means=True)
        evaluation = predict.summarize_evaluation(predict.evaluate(table))
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None
    notes = not_recomputed(result, evaluation)
    if notes:
        evaluation["not_recomputed"] = notes
    return portable(predictions_document(name, table.buckets, assumptions.check(table), evaluation))


def predictions_from_report(path: Path, out: Path) -> tuple[dict, list[Path]]:
    """The predictions report of a committed comparison report at ``path`` (its store not
    at hand), written to ``out`` and nowhere else; (predictions, written paths)."""
    from pacbound.report.figures import predictions_by_budget

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out = {out} is a file; expected a folder")
    predictions = report_predictions(read_report(path), f"report = {path}")
    name = predictions["experiment"]
    paths = list(write_predictions_document(predictions, out))
    paths += predictions_by_budget(predictions, predictions["buckets"], out, name)
    return predictions, paths
