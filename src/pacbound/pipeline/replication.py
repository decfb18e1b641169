"""The replication stage of the pipeline: committed reports and a rerun's, read from their
files and handed to ``pacbound.analysis.replication``. Reading only: nothing is written."""

from __future__ import annotations

from pathlib import Path

from pacbound.analysis.replication import check_report, replicate
from pacbound.inputs import read_json  # the committed and fresh files: one-line errors

CLAIMS = "claims.json"
SUFFIX = "_report.json"


def read_report(path: Path, name: str) -> dict:
    """A comparison report from its file, checked (``check_report``) under the file's name."""
    report = read_json(path, name)
    check_report(report, f"{name} = {path}")
    return report


def claims_entries(path: Path, name: str) -> list[dict]:
    """The ``experiments`` list of a claims.json (``pacbound.analysis.claims``)."""
    document = read_json(path, name)
    entries = document.get("experiments") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{name} = {path}: not a claims document (no experiments list)")
    return entries


def paired_claims(documents, experiment: str) -> tuple[dict | None, dict | None]:
    """The entries of ``experiment`` in two claims documents' lists, or (None, None) unless
    both hold it."""
    found = [next((e for e in d if e.get("experiment") == experiment), None) for d in documents]
    return (None, None) if None in found else (found[0], found[1])


def replicate_reports(first: Path, second: Path, claims: tuple[Path, Path] | None = None) -> dict:
    """``replicate`` of two report files: ``first`` the committed one, ``second`` the rerun;
    ``claims``: optionally their claims.json files, whose pooled verdicts of the same
    experiment are compared too (where both hold it)."""
    reports = read_report(first, "first"), read_report(second, "second")
    if reports[0]["config_hash"] != reports[1]["config_hash"]:
        raise ValueError(
            f"second = {second}: config_hash {reports[1]['config_hash']} differs from "
            f"{first}'s {reports[0]['config_hash']}: not runs of one experiment config"
        )
    entries = (None, None)
    if claims is not None:
        labels = ("first claims", "second claims")
        documents = [claims_entries(p, n) for p, n in zip(claims, labels, strict=True)]
        entries = paired_claims(documents, reports[0].get("experiment", ""))
    return replicate(*reports, *entries)


def replicate_folders(fresh: Path, committed: Path) -> list[dict]:
    """Every ``*_report.json`` of ``fresh`` (a rerun's output folder) against the file of
    the same name in ``committed`` (e.g. paper_figs), with the pooled claims of the same
    experiment when both folders have a claims.json that holds it. Sorted by file name.

    A report without a counterpart, or whose config hash differs from its counterpart's, is
    listed as ``{"experiment", "file", "skipped": reason}``; the others as ``replicate``'s dicts
    (committed first, so that its old → new reads committed → rerun)."""
    fresh, committed = Path(fresh), Path(committed)
    for folder, name in ((fresh, "fresh"), (committed, "committed")):
        if not folder.is_dir():
            raise ValueError(f"{name} = {folder}: not a folder")
    claims_files = [folder / CLAIMS for folder in (committed, fresh)]
    documents = None
    if all(f.is_file() for f in claims_files):
        labels = ("committed claims", "fresh claims")
        documents = [claims_entries(f, n) for f, n in zip(claims_files, labels, strict=True)]
    results = []
    for path in sorted(fresh.glob(f"*{SUFFIX}")):
        stem = path.name.removesuffix(SUFFIX)
        counterpart = committed / path.name
        if not counterpart.is_file():
            reason = f"no {path.name} in {committed}"
            results.append({"experiment": stem, "file": path.name, "skipped": reason})
            continue
        new, old = read_report(path, "fresh"), read_report(counterpart, "committed")
        name = old.get("experiment", stem)
        if new["config_hash"] != old["config_hash"]:
            reason = (
                f"config hash {new['config_hash']} differs from the committed {old['config_hash']}"
            )
            results.append({"experiment": name, "file": path.name, "skipped": reason})
            continue
        entries = paired_claims(documents, name) if documents else (None, None)
        results.append(replicate(old, new, *entries))
    return results


def committed_results(committed: Path, names) -> dict[str, tuple[dict, dict | None]]:
    """{experiment: (its committed report, its committed claims entry or None)} for each of
    ``names`` that ``committed`` holds a report of, read now: a run that writes into the
    committed folder itself is then still compared with what was there before it."""
    committed = Path(committed)
    claims_file = committed / CLAIMS
    entries = claims_entries(claims_file, "committed claims") if claims_file.is_file() else []
    found = {}
    for name in names:
        path = committed / f"{name}{SUFFIX}"
        if path.is_file():
            claims = next((e for e in entries if e.get("experiment") == name), None)
            found[name] = (read_report(path, "committed"), claims)
    return found


def replicate_run(fresh: Path, committed: dict, names) -> list[dict]:
    """Each of ``names`` as just written to ``fresh`` against its committed results
    (``committed_results``, read before the run): ``replicate``'s dicts, or ``{"experiment",
    "skipped": reason}`` where there is nothing to compare or the configs differ."""
    fresh = Path(fresh)
    claims_file = fresh / CLAIMS
    entries = claims_entries(claims_file, "fresh claims") if claims_file.is_file() else []
    results = []
    for name in names:
        path = fresh / f"{name}{SUFFIX}"
        if name not in committed or not path.is_file():
            results.append({"experiment": name, "skipped": "no committed report to compare"})
            continue
        (old, old_claims), new = committed[name], read_report(path, "fresh")
        if new["config_hash"] != old["config_hash"]:
            reason = (
                f"config hash {new['config_hash']} differs from the committed {old['config_hash']}"
            )
            results.append({"experiment": name, "skipped": reason})
            continue
        new_claims = next((e for e in entries if e.get("experiment") == name), None)
        if old_claims is None or new_claims is None:
            old_claims = new_claims = None
        results.append(replicate(old, new, old_claims, new_claims))
    return results
