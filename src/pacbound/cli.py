"""The ``pacbound`` command.

    pacbound bound --kind kl --emp-risk 0.05 --kl 12.3 --n 5000 --delta 0.05 --shift-tv 0.1
    pacbound bound --kind all ... [--json]
    pacbound derive [--latex] [--family KL-SHIFT[-RISK]] [--write FILE | --check FILE]
    pacbound optimum --family linear-exponential --param k1=50 --n 100,1000,10000 [--json]
    pacbound figs [--db PATH] [--out paper_figs]
    pacbound reproduce [--preset quick] [--out paper_figs]
    pacbound compare [--db PATH] [--json]
    pacbound sweep [--preset quick | --config FILE.toml] [--db PATH] [--quiet]
    pacbound certify [--preset quick | --config FILE.toml] [--db PATH] [--out paper_figs]
    pacbound export [--db PATH] --format csv|json [--out FILE]

A user's mistake (a bad flag, a value out of range, a missing file) prints one line on
stderr and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line, exit status 2."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message}")


def _float_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text!r}"
        ) from None


def _build_parser() -> argparse.ArgumentParser:
    from pacbound.numeric.bounds import DEFAULT_MC_DELTA_SHARE, KINDS

    parser = _Parser(prog="pacbound", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    bound = commands.add_parser(
        "bound",
        help="evaluate a PAC-Bayes two-gap bound and its terms",
        description="R_T(Q) ≤ empirical + [MC correction] + generalization + extrapolation.",
    )
    bound.add_argument("--kind", required=True, choices=(*KINDS, "all"))
    bound.add_argument("--emp-risk", type=float, required=True, help="R̂_S(Q) in [0, 1]")
    bound.add_argument("--kl", type=float, required=True, help="KL(Q‖P) ≥ 0, in nats")
    bound.add_argument("--n", type=float, required=True, help="sample size ≥ 1")
    bound.add_argument("--delta", type=float, required=True, help="confidence level in (0, 1)")
    bound.add_argument("--shift-tv", type=float, default=0.0, help="TV(D_T, D_d) in [0, 1]")
    bound.add_argument(
        "--mc-samples",
        type=float,
        default=None,
        help="--emp-risk is a Monte-Carlo estimate over this many draws θ ~ Q",
    )
    bound.add_argument(
        "--mc-delta-share",
        type=float,
        default=DEFAULT_MC_DELTA_SHARE,
        help="share of delta spent on the Monte-Carlo step, in (0, 1)",
    )
    bound.add_argument("--lambda", dest="lam", type=float, default=None, help="λ in (0, 2)")
    bound.add_argument(
        "--catoni-grid", type=_float_list, default=None, help="comma-separated values C > 0"
    )
    bound.add_argument("--json", action="store_true", help="machine-readable output")

    derive = commands.add_parser("derive", help="print the symbolic derivations")
    derive.add_argument("--latex", action="store_true", help="plain LaTeX instead of Markdown")
    derive.add_argument(
        "--family", default=None, help="the optimal-difficulty derivation of KL-SHIFT[-RISK]"
    )
    derive.add_argument("--bound", choices=("mcallester", "kl"), default="mcallester")
    target = derive.add_mutually_exclusive_group()
    target.add_argument("--write", type=Path, help="refresh the generated blocks of FILE")
    target.add_argument("--check", type=Path, help="exit 1 if FILE's generated blocks drift")
    optimum = commands.add_parser(
        "optimum", help="the bound-minimising difficulty d*(n) of a difficulty model"
    )
    optimum.add_argument(
        "--family",
        default="linear-exponential-constant",
        help="KL-SHIFT[-RISK], e.g. linear-exponential-constant (the default)",
    )
    optimum.add_argument("--bound", choices=("mcallester", "kl"), default="mcallester")
    optimum.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a parameter value"
    )
    for term, meaning in (("kl", "K(d)"), ("shift", "T(d)"), ("risk", "R̂(d)")):
        for command in (optimum, derive):
            command.add_argument(
                f"--{term}-expr", default=None, help=f"a sympy expression in d replacing {meaning}"
            )
    optimum.add_argument("--n", type=_float_list, required=True, help="budgets, e.g. 100,1000")
    optimum.add_argument("--domain", type=_float_list, default=(0.0, 1.0), help="d_min,d_max")
    optimum.add_argument("--buckets", type=_float_list, default=None, help="difficulties")
    optimum.add_argument("--json", action="store_true", help="machine-readable output")

    figs = commands.add_parser(
        "figs", help="regenerate every figure (theory, and each experiment in the store)"
    )
    figs.add_argument("--out", type=Path, default=Path("paper_figs"), help="output folder")
    _add_db_argument(figs)

    compare = commands.add_parser("compare", help="predicted vs measured optimal difficulty")
    _add_db_argument(compare)
    compare.add_argument("--name", default=None, help="experiment, if the store holds several")
    compare.add_argument("--out", type=Path, default=Path("paper_figs"), help="report folder")
    compare.add_argument("--json", action="store_true", help="print the JSON, not Markdown")

    reproduce = commands.add_parser("reproduce", help="sweep, compare and figs in one")
    _add_experiment_arguments(reproduce)
    _add_resume_argument(reproduce)
    reproduce.add_argument("--out", type=Path, default=Path("paper_figs"), help="output folder")
    reproduce.add_argument("--quiet", action="store_true", help="log lines, no progress bar")

    sweep = commands.add_parser("sweep", help="run an experiment's grid into the store")
    _add_experiment_arguments(sweep)
    _add_resume_argument(sweep)
    sweep.add_argument("--quiet", action="store_true", help="log lines instead of a progress bar")

    certify = commands.add_parser(
        "certify",
        help="PAC-Bayes certificates of every cell, beside the risks they certify",
        description="Sweep the experiment if needed (a config with a [certify] table stores "
        "a certificate with every cell), then write <name>_certificates.md and .json: per "
        "cell the certificate, the measured risk of its posterior, validity and vacuity.",
    )
    _add_experiment_arguments(certify)
    _add_resume_argument(certify)
    certify.add_argument("--out", type=Path, default=Path("paper_figs"), help="report folder")
    certify.add_argument("--quiet", action="store_true", help="log lines, no progress bar")

    probe = commands.add_parser(
        "probe",
        help="retrain one cell and show where its solutions go wrong",
        description="Fine-tune one cell of a chain-task experiment exactly as the sweep does "
        "(the base from the cache), print the base's and the cell's error per level, and at "
        "one level the first wrong token of each held-out problem and what was written there.",
    )
    _add_experiment_arguments(probe)
    probe.add_argument("--bucket", required=True, help="a bucket of the experiment")
    probe.add_argument("--budget", type=int, required=True, help="a budget of the experiment")
    probe.add_argument("--seed", type=int, default=0, help="a seed of the experiment")
    probe.add_argument("--level", type=int, required=True, help="the level to probe")

    recommend = commands.add_parser(
        "recommend",
        help="which bucket to fine-tune on at a budget, from pilot runs",
        description="Read pilot runs (a CSV or JSON Lines file, one row per run: bucket or "
        "difficulty, n, seed, target_error / target_accuracy / level_<k>, optional distance; "
        "see experiments/pilots-example.csv), or an experiment of a pacbound store, and "
        "recommend a bucket at --budget: each pilot-only predictor's choice, the one with "
        "the lowest forward-chaining regret on the pilots, its bootstrap interval over seeds, "
        "and how far the budget lies from the pilots.",
    )
    recommend.add_argument("pilots", nargs="?", type=Path, help="pilot runs (.csv or .jsonl)")
    recommend.add_argument("--budget", type=int, required=True, help="the budget n to choose for")
    _add_db_argument(recommend)
    recommend.add_argument("--name", default=None, help="experiment, if the store holds several")
    recommend.add_argument("--json", action="store_true", help="print the JSON, not Markdown")

    predictions = commands.add_parser(
        "predict",
        help="the predictions report of a committed comparison report",
        description="Rebuild <name>_predictions.md, .json and .png from a committed "
        "<name>_report.json (its per-seed target errors and per-level errors) and its preset, "
        "for experiments whose store is not at hand. Stored experiments get theirs from "
        "`pacbound figs`.",
    )
    predictions.add_argument("report", type=Path, help="a <name>_report.json")
    predictions.add_argument("--out", type=Path, default=Path("paper_figs"), help="folder")

    export = commands.add_parser("export", help="write the stored cells as a flat table")
    _add_db_argument(export)
    export.add_argument("--name", default=None, help="experiment name, if the store holds several")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--out", type=Path, default=None, help="file (default: stdout)")
    return parser


def _default_db() -> Path:
    from pacbound.store import DEFAULT_PATH

    return DEFAULT_PATH


def _existing_db(args) -> Path:
    """The store named by --db (or the default), which must exist."""
    db = args.db or _default_db()
    if not db.is_file():
        raise ValueError(f"db = {db} does not exist; run `pacbound sweep` first")
    return db


def _add_db_argument(command) -> None:
    command.add_argument("--db", type=Path, default=None, help=f"store (default {_default_db()})")


def _add_resume_argument(command) -> None:
    command.add_argument(
        "--allow-version-change",
        action="store_true",
        help="resume an experiment that other pacbound code computed, recording both",
    )


def _add_experiment_arguments(command) -> None:
    which = command.add_mutually_exclusive_group()
    which.add_argument(
        "--preset", default=None, help="quick, solvable, exact, paper, … (default quick)"
    )
    which.add_argument("--config", type=Path, default=None, help="an experiment TOML file")
    _add_db_argument(command)
    command.add_argument(
        "--cache", type=Path, default=None, help="cached base models (default: beside the store)"
    )


def _experiments(args):
    """The experiments named by --config or --preset: one, or one per base."""
    from pacbound import config

    path = args.config or config.preset_path(args.preset or "quick")
    if exact_file(args):
        raise ValueError(
            f"{path} is an exact experiment (no sweep, no store): run `pacbound reproduce` on it"
        )
    return config.load_all(path)


def exact_file(args) -> Path | None:
    """The --config or --preset file if it describes an exact experiment, else None."""
    from pacbound import config, exact

    path = args.config or config.preset_path(args.preset or "quick")
    return path if Path(path).is_file() and exact.is_exact_file(path) else None


_COLUMNS = ("bound", "empirical", "mc_correction", "generalization", "extrapolation")


def _bound_rows(args) -> list[dict]:
    from pacbound.numeric.bounds import KINDS, evaluate_bound

    kinds = KINDS if args.kind == "all" else (args.kind,)
    rows = []
    for kind in kinds:
        terms = evaluate_bound(
            kind,
            args.emp_risk,
            args.kl,
            args.n,
            args.delta,
            args.shift_tv,
            mc_samples=args.mc_samples,
            mc_delta_share=args.mc_delta_share,
            lam=args.lam,
            catoni_grid=args.catoni_grid,
        )
        row = {"kind": kind, **{name: float(getattr(terms, name)) for name in _COLUMNS}}
        parameter = float(terms.parameter)
        row["parameter"] = None if parameter != parameter else parameter  # NaN → none
        row["vacuous"] = bool(terms.vacuous)
        rows.append(row)
    return rows


def _format_table(rows: list[dict]) -> str:
    header = ("kind", *_COLUMNS, "parameter", "vacuous")
    cells = [header]
    for row in rows:
        parameter = "" if row["parameter"] is None else f"{row['parameter']:.4g}"
        cells.append(
            (
                row["kind"],
                *(f"{row[name]:.6f}" for name in _COLUMNS),
                parameter,
                "yes" if row["vacuous"] else "no",
            )
        )
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _cmd_bound(args) -> int:
    rows = _bound_rows(args)
    if args.json:
        inputs = {
            "emp_risk": args.emp_risk,
            "kl": args.kl,
            "n": args.n,
            "delta": args.delta,
            "shift_tv": args.shift_tv,
            "mc_samples": args.mc_samples,
            "mc_delta_share": args.mc_delta_share if args.mc_samples is not None else None,
        }
        print(json.dumps({"inputs": inputs, "bounds": rows}, indent=2))
    else:
        print(_format_table(rows))
        print("parameter: λ for the λ form, the chosen C for Catoni; vacuous: bound ≥ 1")
    return 0


def _parse_params(pairs: list[str]) -> dict[str, float]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            params[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"--param {pair!r} is not NAME=VALUE with a number")
    return params


_TERM_OPTIONS = {"kl": "kl_expr", "shift": "shift_expr", "risk": "risk_expr"}


def _model(args):
    from pacbound.symbolic import difficulty as D

    domain = tuple(getattr(args, "domain", (0.0, 1.0)))
    if len(domain) != 2:
        raise ValueError(f"--domain {domain} is not two numbers d_min,d_max")
    params = _parse_params(getattr(args, "param", []))
    overrides = {
        term: getattr(args, option)
        for term, option in _TERM_OPTIONS.items()
        if getattr(args, option, None)
    }
    if not overrides:
        return D.family_model(args.family, generalization=args.bound, params=params, domain=domain)
    known = {k: v for k, v in params.items() if k in D.DEFAULT_PARAMS}
    model = D.family_model(args.family, generalization=args.bound, params=known, domain=domain)
    # Custom terms: any sympy expression in d; its other symbols need --param values.
    terms = {"kl": model.kl, "shift": model.shift, "risk": model.risk}
    for term, text in overrides.items():
        terms[term] = D.parse_term(text, f"--{term}-expr")
    return D.DifficultyModel(
        **terms,
        generalization=args.bound,
        domain=domain,
        params=dict(D.DEFAULT_PARAMS) | params,
        name="custom",
    )


def _cmd_optimum(args) -> int:
    from pacbound.numeric.difficulty import bound_function, optimal_difficulty, term_functions

    model = _model(args)
    d_star = optimal_difficulty(model, args.n, buckets=args.buckets)
    terms = term_functions(model)
    bound = bound_function(model)
    rows = []
    for n_value, d_value in zip(args.n, d_star, strict=True):
        row = {"n": n_value, "d_star": float(d_value), "bound": float(bound(d_value, n_value))}
        row |= {name: float(f(d_value, n_value)) for name, f in terms.items()}
        rows.append(row)
    if args.json:
        info = {"family": model.name, "bound": args.bound, "params": model.params}
        print(json.dumps({"model": info | {"domain": model.domain}, "optimum": rows}, indent=2))
        return 0
    header = ("n", "d_star", "bound", "empirical", "generalization", "extrapolation")
    print(f"{model.name} ({args.bound}), d in [{model.domain[0]:g}, {model.domain[1]:g}]")
    print("  ".join(f"{h:>14}" for h in header))
    for row in rows:
        print("  ".join(f"{row[h]:>14.6g}" for h in header))
    return 0


def _stored_experiments(store, names=None):
    """(config, cells, comparison) of each finished experiment in ``names`` (default: every
    one in the store)."""
    from pacbound import config
    from pacbound.compare import compare

    found = []
    for name in store.names() if names is None else names:
        experiment = config.from_dict(store.experiment(name)["config"])
        cells = store.cells(name)
        if len(cells) < len(experiment.cells):
            print(
                f"{name}: {len(cells)}/{len(experiment.cells)} cells stored, skipped",
                file=sys.stderr,
            )
            continue
        found.append((experiment, cells, compare(experiment, cells, store.base(name))))
    return found


def _cmd_figs(args) -> int:
    from pacbound.compare import (
        compare_bases,
        compare_learners,
        write_bases_report,
        write_learners_report,
        write_report,
    )
    from pacbound.plots import (
        certificate_vs_risk,
        experiment_figures,
        optimum_by_base,
        theory_figures,
        write_index,
    )
    from pacbound.store import Store

    paths = theory_figures(args.out)
    results, summaries = [], []
    db = args.db or _default_db()
    if db.is_file():
        with Store(db) as store:
            for experiment, cells, result in _stored_experiments(store):
                paths += experiment_figures(experiment, cells, result, args.out)
                paths += write_report(result, args.out)
                results.append(result)
                if experiment.certify.enabled:
                    summary, written = _certificates(
                        experiment, cells, store.base(experiment.name), args.out
                    )
                    paths += written
                    summaries.append(summary)
    elif args.db:
        raise ValueError(f"db = {db} does not exist; run `pacbound sweep` first")
    if len(summaries) > 1:
        paths += certificate_vs_risk(summaries, args.out, "learners")
    families = {}
    for result in results:
        if result["family"]:
            families.setdefault(result["family"], []).append(result)
    for group in families.values():
        if len(group) < 2:
            continue
        if len({result["subspace"] for result in group}) > 1:  # learners of one base
            by_name = {summary["experiment"]: summary for summary in summaries}
            paths += write_learners_report(compare_learners(group, by_name), args.out)
            continue
        comparison = compare_bases(group)
        paths += write_bases_report(comparison, args.out)
        paths += optimum_by_base(comparison, args.out)
    paths.append(write_index(args.out))
    for path in paths:
        print(f"wrote {path}")
    return 0


def _cmd_compare(args) -> int:
    from pacbound.compare import report_markdown, write_report
    from pacbound.store import Store

    db = _existing_db(args)
    with Store(db) as store:
        name = store.experiment(args.name)["name"]
        found = _stored_experiments(store, [name])
    if not found:
        raise ValueError(f"experiment {name!r} is not finished; rerun `pacbound sweep`")
    result = found[0][2]
    write_report(result, args.out)
    print(json.dumps(result, indent=1) if args.json else report_markdown(result), end="")
    return 0


def _cmd_reproduce(args) -> int:
    path = exact_file(args)
    if path:
        return _reproduce_exact(path, args.out)
    _cmd_sweep(args)
    args.db = args.db or _default_db()
    return _cmd_figs(args)


def _reproduce_exact(path: Path, out: Path) -> int:
    """The exact experiment of a preset file: computed, analysed, written, indexed."""
    from pacbound import exact
    from pacbound.plots import write_index

    experiment = exact.load(path)
    result, evaluation, seconds = exact.run(experiment)
    paths = exact.write(result, evaluation, out)
    paths.append(write_index(out))
    for written in paths:
        print(f"wrote {written}")
    print(
        f"{experiment.name}: grid computed in {seconds['grid']:.1f} s, "
        f"analysed in {seconds['analysis']:.1f} s"
    )
    return 0


class _ProgressBar:
    """A tqdm bar over grid cells (phase in its description), or log lines with --quiet."""

    def __init__(self, quiet: bool, name: str):
        self.quiet, self.name, self.bar = quiet, name, None

    def __call__(self, phase: str, done: int, total: int) -> None:
        done = round(done, 1)  # within a batch, cells done so far are fractional
        if self.quiet:
            print(f"[{self.name}] {phase}: {done:g}/{total} cells", file=sys.stderr, flush=True)
            return
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, unit="cell", file=sys.stderr, dynamic_ncols=True)
        self.bar.set_description(f"{self.name}: {phase}")
        self.bar.update(done - self.bar.n)  # the ETA is of the whole grid

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _cmd_sweep(args) -> int:
    from pacbound.store import Store
    from pacbound.sweep import run_sweep

    db = args.db or _default_db()
    cache = args.cache or db.parent / "cache"
    for experiment in _experiments(args):
        bar = _ProgressBar(args.quiet, experiment.name)
        with Store(db) as store:
            try:
                computed = run_sweep(
                    experiment, store, cache, bar, allow_version_change=args.allow_version_change
                )
            finally:
                bar.close()
            total = len(experiment.cells)
        print(f"{experiment.name}: {computed} cells computed, {total} stored in {db}")
    return 0


def _certificates(experiment, cells, base, out_dir) -> tuple[dict, list[Path]]:
    """The certificates summary of one experiment, its report and its figures."""
    from pacbound.certify import certificates_markdown, summarize
    from pacbound.compare import _write_pair, certificate_floors
    from pacbound.plots import certificate_by_budget, certificate_vs_risk

    summary = summarize(experiment, cells, base)
    stem = f"{experiment.name}_certificates"
    paths = list(_write_pair(out_dir, stem, certificates_markdown(summary), summary))
    floors = certificate_floors(experiment, sorted(experiment.grid.budgets))
    paths += certificate_by_budget(summary, floors, out_dir, experiment.name)
    paths += certificate_vs_risk([summary], out_dir, experiment.name)
    return summary, paths


def _cmd_certify(args) -> int:
    from pacbound.store import Store

    experiments = _experiments(args)
    for experiment in experiments:
        if not experiment.certify.enabled:
            raise ValueError(f"experiment {experiment.name!r} has no [certify] table")
    _cmd_sweep(args)
    db = args.db or _default_db()
    with Store(db) as store:
        for experiment in experiments:
            cells = store.cells(experiment.name)
            summary, paths = _certificates(experiment, cells, store.base(experiment.name), args.out)
            print(
                f"{experiment.name}: {summary['valid_fraction']:.1%} of {len(cells)} "
                f"certificates at or above the measured risk; "
                f"{summary['vacuous_fraction']:.0%} vacuous"
            )
            for path in paths:
                print(f"wrote {path}")
    return 0


def _cmd_probe(args) -> int:
    from dataclasses import replace

    import jax

    from pacbound.probe import first_errors, probe_table
    from pacbound.sweep import LanguageRunner

    experiments = _experiments(args)
    if len(experiments) > 1:
        names = ", ".join(e.name for e in experiments)
        raise ValueError(f"the config holds several experiments ({names}): pass one base's file")
    experiment = experiments[0]
    if experiment.task_kind != "igsm-chain":
        raise ValueError(f"task kind = {experiment.task_kind!r}: the probe reads igsm-chain only")
    cell = (args.bucket, args.budget, args.seed)
    if cell not in experiment.cells:
        raise ValueError(
            f"cell {cell} is not in the grid: buckets {[b.name for b in experiment.grid.buckets]}"
            f", budgets {list(experiment.grid.budgets)}, seeds {list(experiment.grid.seeds)}"
        )
    if args.level not in experiment.levels:
        raise ValueError(f"level = {args.level} is out of range: allowed {experiment.levels}")
    cache = args.cache or (args.db or _default_db()).parent / "cache"
    # One member, not a padded ensemble: a cell's run does not depend on its batch.
    experiment = replace(experiment, grid=replace(experiment.grid, ensemble=1))
    runner = LanguageRunner(experiment, cache, lambda phase: None)
    params_M, *_ = runner.finetune_batch([cell])
    tuned = jax.tree.map(lambda x: x[0], params_M)
    errors = runner.level_errors(tuned)
    levels = list(experiment.levels)
    print(f"# {experiment.name}: cell {args.bucket}/n={args.budget}/seed {args.seed}\n")
    print("| model | " + " | ".join(map(str, levels)) + " |")
    print("|---|" + "---|" * len(levels))
    for name, values in (("base", runner.base_errors), ("fine-tuned", errors)):
        print(f"| {name} | " + " | ".join(f"{values[k]:.2f}" for k in levels) + " |")
    test = runner.tests[args.level]
    for name, params in (("base", runner.base), ("fine-tuned", tuned)):
        print(f"\nLevel {args.level}, {name}: the first wrong token of each held-out problem\n")
        print(probe_table(first_errors(params, experiment.model, test, args.level)))
    return 0


def _cmd_recommend(args) -> int:
    from pacbound import recommend

    if args.pilots is not None:
        if args.db or args.name:
            raise ValueError("pilots: give a pilot file or --db/--name, not both")
        table = recommend.read_pilots(args.pilots)
    else:
        from pacbound import config
        from pacbound.compare import build_table, run_table
        from pacbound.store import Store

        with Store(_existing_db(args)) as store:
            name = store.experiment(args.name)["name"]
            experiment = config.from_dict(store.experiment(name)["config"])
            base = store.base(name)
            table = run_table(experiment, build_table(experiment, store.cells(name), base), base)
    result = recommend.recommend(table, args.budget)
    print(json.dumps(result, indent=1) if args.json else recommend.markdown(result), end="")
    return 0


def _cmd_predict(args) -> int:
    from pacbound.compare import predictions_from_report
    from pacbound.plots import predictions_by_budget

    if not args.report.is_file():
        raise ValueError(f"report = {args.report}: no such file")
    result, written = predictions_from_report(json.loads(args.report.read_text()), args.out)
    written += predictions_by_budget(result, result["buckets"], args.out, result["experiment"])
    for path in written:
        print(f"wrote {path}")
    return 0


def _cmd_export(args) -> int:
    import csv
    import io

    from pacbound.store import Store, flat_rows

    with Store(_existing_db(args)) as store:
        name = store.experiment(args.name)["name"]
        rows = flat_rows(store.cells(name))
    if args.format == "json":
        text = json.dumps(rows, indent=1) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["bucket"])
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_derive(args) -> int:
    from pacbound.symbolic.render import refresh_generated, render_latex, render_markdown

    if args.family:
        from pacbound.symbolic.render import render_family

        print(render_family(_model(args), latex_only=args.latex), end="")
        return 0
    if args.write or args.check:
        path = args.write or args.check
        try:
            text = path.read_text()
        except OSError as error:
            raise ValueError(f"cannot read {path}: {error.strerror}") from None
        fresh = refresh_generated(text)
        if args.write:
            path.write_text(fresh)
            print(f"refreshed {path}")
            return 0
        if fresh != text:
            print(
                f"{path}: generated blocks differ from the code; run pacbound derive --write {path}"
            )
            return 1
        print(f"{path}: up to date")
        return 0
    print(render_latex() if args.latex else render_markdown(), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = _build_parser().parse_args(argv)
        commands = {
            "bound": _cmd_bound,
            "derive": _cmd_derive,
            "optimum": _cmd_optimum,
            "figs": _cmd_figs,
            "sweep": _cmd_sweep,
            "compare": _cmd_compare,
            "reproduce": _cmd_reproduce,
            "export": _cmd_export,
            "probe": _cmd_probe,
            "certify": _cmd_certify,
            "recommend": _cmd_recommend,
            "predict": _cmd_predict,
        }
        command = commands[args.command]
        return command(args)
    except (_UsageError, ValueError) as error:
        print(
            f"pacbound: error: {error}" if isinstance(error, ValueError) else str(error),
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
