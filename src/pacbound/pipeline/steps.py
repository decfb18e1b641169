"""The steps of the commands on experiments (sweep, figures, reproduce, compare, certify,
probe, export): store → analysis → report → files, one call per command of ``pacbound.cli``
(through the package ``pacbound.pipeline``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from pacbound import config as configs
from pacbound.analysis import hierarchy, predict
from pacbound.analysis.certificates import summarize
from pacbound.analysis.comparison import compare_experiment, pooled_base
from pacbound.analysis.families import compare_bases, compare_learners
from pacbound.analysis.objectives import compare_objectives
from pacbound.analysis.table import (
    cell_arrays,
    certificate_floors,
    runs_from_arrays,
)
from pacbound.inputs import read_json
from pacbound.pipeline.difficulty import difficulty_comparisons, write_difficulty
from pacbound.pipeline.objectives import objectives_claims
from pacbound.report import claims as claims_report
from pacbound.report import comparison as comparison_report
from pacbound.report.certificates import certificates_markdown
from pacbound.report.difficulty import write_difficulty_report
from pacbound.report.families import write_bases_report, write_learners_report
from pacbound.report.markdown import portable, write_pair
from pacbound.report.objectives import (
    difference_heatmap,
    write_objectives_report,
    write_weights_report,
)
from pacbound.store import Store

# --- running an experiment ---------------------------------------------------------------


def experiments(path: Path):
    """The experiments of a config file: one, or one per base; an exact file is refused."""
    if is_exact(path):
        raise ValueError(
            f"{path} is an exact experiment (no sweep, no store): run `pacbound reproduce` on it"
        )
    return configs.load_all(path)


def is_exact(path: Path) -> bool:
    """Whether a config file describes an exact experiment (``pacbound.analysis.exact``)."""
    from pacbound.analysis import exact

    return Path(path).is_file() and exact.is_exact_file(path)


def sweep(
    path: Path, db: Path, cache: Path | None, quiet: bool, allow_version_change: bool, say=None
) -> None:
    """Every experiment of a config file swept into the store; ``say`` (e.g. print) hears a
    line per experiment as it finishes."""
    from pacbound.run.progress import ProgressBar
    from pacbound.run.sweep import run_sweep

    found = experiments(path)  # every experiment checked before anything is written
    cache = cache or db.parent / "cache"
    for experiment in found:
        bar = ProgressBar(quiet, experiment.name)
        with Store(db, write=True) as store:  # a refused store: nothing written either
            compilation_cache(cache / "xla")
            try:
                computed = run_sweep(experiment, store, cache, bar, allow_version_change)
            finally:
                bar.close()
        total = experiment.cell_count
        if say:
            say(f"{experiment.name}: {computed} cells computed, {total} stored in {db}")


def compilation_cache(folder: Path) -> None:
    """Keep XLA's compiled programs in ``folder`` (beside the cached bases), unless a cache is
    already set: every base draw builds the same programs for its own runner, and a rerun
    builds them all again; from this cache each is compiled once."""
    import jax

    if jax.config.jax_compilation_cache_dir:
        return
    folder.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def certify(
    path: Path, db: Path, cache, quiet: bool, allow_version_change: bool, out: Path, say=None
):
    """Sweep a config with a [certify] table, then write each experiment's certificates
    report and figures; ``say`` (e.g. print) hears each experiment's lines as it is done."""
    say = say or (lambda line: None)
    found = experiments(path)
    for experiment in found:
        if not experiment.certify.enabled:
            raise ValueError(f"experiment {experiment.name!r} has no [certify] table")
    sweep(path, db, cache, quiet, allow_version_change, say)
    with Store(db) as store:
        for experiment in found:
            cells, bases = stored(store, experiment)
            summary, paths = certificates(experiment, cells, base_errors(bases), out)
            say(
                f"{experiment.name}: {summary['valid_fraction']:.1%} of {len(cells)} "
                f"certificates at or above the measured risk; "
                f"{summary['vacuous_fraction']:.0%} vacuous"
            )
            for written in paths:
                say(f"wrote {written}")


def probe(experiment, cache: Path, cell: tuple, level: int, say=None) -> dict:
    """One chain-task cell fine-tuned as the sweep does (its base from the cache): the base's
    and the cell's error per level, and at ``level`` where each model's held-out solutions
    first go wrong. ``say`` hears when the training starts."""
    from pacbound.run.probe import cell_runner, finetune_cell, first_errors

    if not experiment.task.solution_roles:
        allowed = ", ".join(configs.kinds_with("solution_roles"))
        raise ValueError(
            f"task kind = {experiment.task_kind!r} is not one of {allowed}: the probe reads "
            "solution tokens by role"
        )
    if cell not in experiment.cells:
        raise ValueError(
            f"cell {cell} is not in the grid: buckets {[b.name for b in experiment.grid.buckets]}"
            f", budgets {list(experiment.grid.budgets)}, seeds {list(experiment.grid.seeds)}"
        )
    if level not in experiment.levels:
        raise ValueError(f"level = {level} is out of range: allowed {experiment.levels}")
    if say:
        say(f"{experiment.name}: fine-tuning cell {cell} (its base pretrained if not cached)…")
    runner = cell_runner(experiment, cache)
    tuned = finetune_cell(runner, cell)
    test = runner.tests[level]
    return {
        "experiment": experiment.name,
        "cell": cell,
        "level": level,
        "levels": list(experiment.levels),
        "errors": {"base": runner.base_errors, "fine-tuned": runner.level_errors(tuned)},
        "first_errors": {
            name: first_errors(params, experiment.model, test, level)
            for name, params in (("base", runner.base), ("fine-tuned", tuned))
        },
    }


# --- reports from the store or from committed reports --------------------------------------


def stored(store: Store, experiment) -> tuple[list, dict]:
    """(cells, {pretraining seed: Base}) of an experiment, read with their outcomes; a
    ValueError if the store holds no such experiment or none of its base draws."""
    store.experiment(experiment.name)  # "holds no experiment …" if it is not there
    problems = experiment.held_out_problems
    bases = store.bases(experiment.name, problems)
    if not bases:
        name = experiment.name
        raise ValueError(f"db = {store.path} holds no base draw of {name!r}; run `pacbound sweep`")
    return store.cells(experiment.name, problems=problems), bases


def base_errors(bases: dict) -> dict:
    """{pretraining seed: the base's error per level}."""
    return {seed: base.level_errors for seed, base in bases.items()}


def comparison(experiment, cells, bases: dict) -> dict:
    """The comparison of one experiment as its report's JSON holds it (``portable``: the
    base and learner comparisons made from it in memory are those ``figs --reports-only``
    makes from the JSON)."""
    result = compare_experiment(experiment, cells, bases)
    return portable(comparison_report.document(result, experiment))


def finished_experiments(store: Store, names=None) -> list:
    """The config of each finished experiment in ``names`` (default: every one in the store);
    unfinished ones are skipped with a line on stderr."""
    found = []
    for name in store.names() if names is None else names:
        experiment = configs.from_dict(store.experiment(name)["config"])
        stored = len(store.finished(name))
        if stored < experiment.cell_count:
            total = experiment.cell_count
            print(f"{name}: {stored}/{total} cells stored, skipped", file=sys.stderr)
            continue
        found.append(experiment)
    return found


def stored_experiments(store: Store, names=None) -> list[tuple]:
    """(config, cells, bases, comparison) of each finished experiment in ``names`` (default:
    every one in the store)."""
    found = []
    for experiment in finished_experiments(store, names):
        if experiment.grid.relative:  # the difficulty report's (``pipeline.difficulty``)
            continue
        cells, bases = stored(store, experiment)
        found.append((experiment, cells, bases, comparison(experiment, cells, bases)))
    return found


def claims(store: Store, out: Path, draw: bool = True) -> list[Path]:
    """claims.md/.json (and its figure, if ``draw``): every finished experiment of the store
    judged, beside the other experiments the committed claims.json holds."""
    from pacbound.analysis.claims import CLAIMS_SEED, claims_document
    from pacbound.analysis.hierarchy import combined, from_store

    documents, families, objectives, paths = {}, {}, {}, []
    for experiment in finished_experiments(store):
        if experiment.grid.relative:  # its buckets are not level ranges: see the difficulty report
            continue
        cells, bases = stored(store, experiment)
        measured = from_store(experiment, bases, cells)
        easy_high = experiment.grid.buckets[0].high
        rng = np.random.default_rng(CLAIMS_SEED)
        documents[experiment.name] = claims_document(experiment.name, measured, easy_high, rng)
        if experiment.family and not experiment.finetune.subspace:
            families.setdefault(experiment.family, {})[experiment.name] = (measured, easy_high)
            by_objective = objectives.setdefault(experiment.family, {})
            by_objective[experiment.finetune.objective] = measured
    # A family of objectives (its members differ in objective, not in base): DFT against SFT
    # on the same cells, with claims C7 and C8, in place of the all-bases entry.
    for family, members in objectives.items():
        if {"sft", "dft"} <= set(members):
            families.pop(family)
            comparison = compare_objectives(family, members["sft"], members["dft"], CLAIMS_SEED)
            paths += write_objectives_report(comparison, out)
            paths += difference_heatmap(comparison, out) if draw else []
            documents[f"{family} (objectives)"] = objectives_claims(comparison, members["sft"])
    # A family of bases is also judged as one experiment over all its base draws: C6 then
    # compares every base, across pretraining ranges.
    for family, members in families.items():
        if len(members) > 1:
            name = f"{family} (all bases)"
            every = combined({k: measured for k, (measured, _) in members.items()})
            easy_high = next(iter(members.values()))[1]
            rng = np.random.default_rng(CLAIMS_SEED)
            documents[name] = claims_document(name, every, easy_high, rng)
    return paths + (write_claims(documents, out, draw) if documents else [])


def write_claims(documents: dict, out: Path, draw: bool = True) -> list[Path]:
    """claims.md/.json with ``documents`` ({experiment: claims document}) in place of those
    experiments' entries, every other committed entry kept."""
    from pacbound.analysis.claims import ALPHA, CLAIMS
    from pacbound.analysis.objectives import OBJECTIVE_CLAIMS

    committed = out / f"{claims_report.STEM}.json"
    if committed.exists():
        kept = read_json(committed, "claims")["experiments"]
        documents = {e["experiment"]: e for e in kept} | documents
    experiments = [documents[name] for name in sorted(documents)]
    data = {"alpha": ALPHA, "claims": CLAIMS | OBJECTIVE_CLAIMS, "experiments": experiments}
    return claims_report.write_claims(data, out, draw)


def compare(db: Path, name: str | None, out: Path) -> dict:
    """The comparison of one finished experiment of a store, its report written to ``out``."""
    with Store(db) as store:
        name = store.experiment(name)["name"]
        _refuse_base_loss(configs.from_dict(store.experiment(name)["config"]))
        found = stored_experiments(store, [name])
    if not found:
        raise ValueError(f"experiment {name!r} is not finished; rerun `pacbound sweep`")
    result = found[0][3]
    comparison_report.write_report(result, out)
    return result


def certificates(
    experiment, cells, bases: dict, out: Path, draw: bool = True
) -> tuple[dict, list[Path]]:
    """The certificate summary of one experiment, its report and (``draw``) its figures;
    ``bases``: {pretraining seed: the base's error per level}."""
    from pacbound.report.figures import certificate_by_budget, certificate_vs_risk

    summary = portable(summarize(experiment, cells, bases))  # as its JSON holds it
    paths = list(write_certificates(summary, out))
    if not draw:
        return summary, paths
    floors = certificate_floors(experiment, sorted(experiment.grid.budgets))
    paths += certificate_by_budget(summary, floors, out, experiment.name)
    paths += certificate_vs_risk([summary], out, experiment.name)
    return summary, paths


def write_certificates(summary: dict, out: Path) -> tuple[Path, Path]:
    stem = f"{summary['experiment']}_certificates"
    return write_pair(out, stem, certificates_markdown, summary)


def family_reports(
    results: list[dict],
    summaries: list[dict],
    out: Path,
    draw: bool = True,
    strengths: dict | None = None,
) -> list[Path]:
    """Experiments of one family side by side: learners of one base (their subspaces
    differ), or bases of different strength (with a figure, if ``draw``); ``strengths``:
    each family's base-strength regression, where one was computed."""
    from pacbound.report.figures import optimum_by_base

    families, paths = {}, []
    for result in results:
        if result["family"]:
            families.setdefault(result["family"], []).append(result)
    by_name = {summary["experiment"]: summary for summary in summaries}
    for family, group in families.items():
        if len(group) < 2:
            continue
        if len({result.get("objective", "sft") for result in group}) > 1:
            continue  # objectives are compared from the store (``claims``), not here
        if len({result["subspace"] for result in group}) > 1:
            paths += write_learners_report(compare_learners(group, by_name), out)
            continue
        bases = compare_bases(group)
        if strengths and family in strengths:
            bases["strength"] = strengths[family]
        paths += write_bases_report(bases, out)
        paths += optimum_by_base(bases, out) if draw else []
    return paths


def base_strengths(found: list[tuple]) -> dict:
    """The base-strength regression of every family of bases whose experiments have
    several base draws (``found``: ``stored_experiments``' tuples)."""
    from pacbound.analysis.families import strength_regression
    from pacbound.analysis.hierarchy import from_store

    families = {}
    for experiment, cells, bases, result in found:
        if (
            experiment.family
            and len(experiment.base_seeds) > 1
            and not experiment.finetune.subspace
        ):
            measured = from_store(experiment, bases, cells)
            families.setdefault(experiment.family, []).append((result, measured))
    return {
        family: strength_regression(group) for family, group in families.items() if len(group) > 1
    }


def committed_strengths(out: Path) -> dict:
    """The base-strength regressions the committed ``<family>_bases.json`` hold."""
    strengths = {}
    for path in sorted(out.glob("*_bases.json")):
        comparison = read_json(path, "report")
        if "strength" in comparison:
            strengths[comparison["family"]] = comparison["strength"]
    return strengths


def figures(db: Path | None, out: Path, draw: bool = True, theory: bool = True) -> list[Path]:
    """Every figure and report: the theory's, and each experiment's, from the store at ``db``
    when there is one, else from the report JSONs already in ``out`` (the experiments' own
    figures need their cells); then the index. ``draw=False``: the reports and the index
    only; ``theory=False``: not the theory figures (they depend on no store)."""
    from pacbound.analysis.figure_data import experiment_figures_data
    from pacbound.report.figures import certificate_vs_risk, experiment_figures
    from pacbound.report.index import write_index
    from pacbound.report.theory_figures import theory_figures

    paths = theory_figures(out) if draw and theory else []
    results, summaries = [], []
    if db is not None:
        with Store(db) as store:
            paths += claims(store, out, draw)
            every = finished_experiments(store)
            paths += write_difficulty(difficulty_comparisons(store, every, stored), out, draw)
            found = stored_experiments(store)
            strengths = base_strengths(found)
            for experiment, cells, bases, result in found:
                if draw:
                    data = experiment_figures_data(experiment, cells, bases)
                    paths += experiment_figures(data, result, out)
                paths += comparison_report.write_report(result, out)
                results.append(result)
                if experiment.certify.enabled:
                    errors = base_errors(bases)
                    summary, written = certificates(experiment, cells, errors, out, draw)
                    paths += written
                    summaries.append(summary)
        if len(summaries) > 1 and draw:
            paths += certificate_vs_risk(summaries, out, "learners")
    else:
        strengths = committed_strengths(out)
        committed = out / f"{claims_report.STEM}.json"
        if committed.exists():
            paths += _committed(
                committed, lambda data, o: claims_report.write_claims(data, o, draw), out
            )[1]
        for path in sorted(out.glob("*_objectives.json")):
            paths += _committed(path, write_objectives_report, out)[1]
        for path in sorted(out.glob("*_difficulty.json")):
            paths += _committed(path, write_difficulty_report, out)[1]
        for path in sorted(out.glob("*_weights.json")):
            paths += _committed(path, write_weights_report, out)[1]
        for path in sorted(out.glob("*_certificates.json")):
            summary, written = _committed(path, write_certificates, out)
            summaries.append(summary)
            paths += written
        for path in sorted(out.glob("*_report.json")):
            result, written = _committed(path, comparison_report.write_report, out)
            results.append(result)
            paths += written
    paths += family_reports(results, summaries, out, draw, strengths)
    paths.append(write_index(out))
    return paths


def _committed(path: Path, write, out: Path) -> tuple[dict, list[Path]]:
    """A committed report's JSON and the files ``write`` makes of it again; a file that is not
    such a report is a one-line error naming it. The data is ``portable`` even where the file
    predates it, as the rewritten file and the reports made from it in memory are."""
    data = portable(read_json(path, "report"))
    try:
        return data, list(write(data, out))
    except (KeyError, TypeError, IndexError) as error:
        raise ValueError(f"{path}: not a report this version can render ({error!r})") from None


def reproduce_exact(path: Path, out: Path, say=None) -> tuple[str, list[Path], dict]:
    """The exact experiment of a preset file: computed, analysed, written, indexed; (its name,
    the paths written, seconds of each stage). ``say`` hears each stage as it starts."""
    from pacbound.analysis import exact
    from pacbound.report import exact as exact_report
    from pacbound.report.index import write_index

    experiment = exact.load(path)
    result, evaluation, claims_found, seconds = exact.run(experiment, say)
    if say:
        say(f"{experiment.name}: writing the reports and figures to {out}…")
    paths = exact_report.write(result, predict.summarize_evaluation(evaluation), out)
    paths += write_claims({experiment.name: claims_found}, out)
    paths.append(write_index(out))
    return experiment.name, paths, seconds


def _refuse_base_loss(experiment) -> None:
    """Comparisons and predictions read a bucket as a mixture of levels: not base-loss ones."""
    if experiment.grid.relative:
        name = experiment.name
        raise ValueError(f"{name!r} has base-loss buckets: `figs` reports it by difficulty")


def stored_runs(db: Path, name: str | None) -> predict.RunTable:
    """An experiment of a store as the predictors' runs (with its held-out outcomes)."""
    with Store(db) as store:
        name = store.experiment(name)["name"]
        experiment = configs.from_dict(store.experiment(name)["config"])
        _refuse_base_loss(experiment)
        cells, bases = stored(store, experiment)
        base = pooled_base(bases)
        arrays = cell_arrays(experiment, cells, base)
    outcomes = hierarchy.from_store(experiment, bases, cells)
    return runs_from_arrays(experiment, arrays, base, outcomes)


def export(db: Path, name: str | None, fmt: str, outcomes: bool = False) -> str:
    """The stored cells of an experiment as a flat CSV or JSON table; ``outcomes``: with
    each cell's outcome on every held-out problem."""
    import csv
    import io

    from pacbound.store import flat_rows

    with Store(db) as store:
        stored = store.experiment(name)
        experiment = configs.from_dict(stored["config"])
        problems = experiment.held_out_problems if outcomes else 0
        rows = flat_rows(store.cells(stored["name"], problems=problems))
    if fmt == "json":
        return json.dumps(rows, indent=1) + "\n"
    buffer = io.StringIO()
    # Every field of every row, in order of first appearance: cells differ in the optional
    # fields they hold (a certificate pilots only the candidates it needs).
    fields = list(dict.fromkeys(key for row in rows for key in row)) or ["bucket"]
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
