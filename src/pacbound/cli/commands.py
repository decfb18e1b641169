"""One function per command: read the parsed arguments, make one pipeline call, print."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _status(line: str) -> None:
    """A line on stderr as a step that is silent for long starts; stdout keeps the result."""
    print(f"pacbound: {line}", file=sys.stderr, flush=True)


def _default_db() -> Path:
    from pacbound.store import DEFAULT_PATH

    return DEFAULT_PATH


def _config_path(args) -> Path:
    from pacbound import config

    return args.config or config.preset_path(args.preset or "quick")


def _experiments(args):
    from pacbound.pipeline import experiments

    return experiments(_config_path(args))


def _cmd_bound(args) -> int:
    from pacbound.bound_options import FORM_OPTIONS, INPUTS, parameters
    from pacbound.pipeline.theory import bound_rows
    from pacbound.report.console import bound_table

    table = parameters(FORM_OPTIONS.values())
    rows = bound_rows(args.kind, **{param.name: getattr(args, param.name) for param in table})
    inputs = {param.label: getattr(args, param.name) for param in INPUTS if param.positional}
    if args.json:
        inputs["mc_samples"] = args.mc_samples
        inputs["mc_delta_share"] = args.mc_delta_share if args.mc_samples is not None else None
        print(json.dumps({"inputs": inputs, "bounds": rows}, indent=2))
    else:
        print(bound_table(rows))
        shown = ", ".join(form.parameter for form in FORM_OPTIONS.values() if form.parameter)
        print(f"parameter: {shown}; vacuous: bound ≥ 1")
    return 0


def _model(args):
    """The difficulty model of --family, --bound, --param, --domain and the --*-expr terms."""
    from pacbound.pipeline.theory import difficulty_model

    params = {}
    for pair in getattr(args, "param", []):
        name, sep, value = pair.partition("=")
        try:
            params[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"--param {pair!r} is not NAME=VALUE with a number")
    terms = {term: getattr(args, f"{term}_expr", None) for term in ("kl", "shift", "risk")}
    domain = tuple(getattr(args, "domain", (0.0, 1.0)))
    return difficulty_model(args.family, args.bound, params, domain, terms)


def _cmd_optimum(args) -> int:
    from pacbound.pipeline.theory import optimum_rows
    from pacbound.report.console import optimum_table

    model = _model(args)
    rows = optimum_rows(model, args.n, args.buckets)
    if args.json:
        info = {"family": model.name, "bound": args.bound, "params": model.params}
        print(json.dumps({"model": info | {"domain": model.domain}, "optimum": rows}, indent=2))
    else:
        print(optimum_table(model, args.bound, rows))
    return 0


def _cmd_derive(args) -> int:
    from pacbound.pipeline.theory import DERIVING, derivation, derive

    if args.family:
        print(derivation(_model(args), latex=args.latex), end="")
    elif args.write or args.check:
        message, status = derive(args.write or args.check, bool(args.write), say=_status)
        print(message)
        return status
    else:
        _status(DERIVING)
        print(derivation(latex=args.latex), end="")
    return 0


def _cmd_sweep(args) -> int:
    from pacbound.pipeline import sweep

    db = args.db or _default_db()
    sweep(_config_path(args), db, args.cache, args.quiet, args.allow_version_change, print)
    return 0


def _cmd_figs(args) -> int:
    from pacbound.pipeline import figures

    db = args.db or _default_db()
    if args.db:  # refused before a figure is written, in the store's own words
        from pacbound.store import Store

        Store(db).close()
    draw = not getattr(args, "reports_only", False)  # reproduce draws everything
    theory = not getattr(args, "no_theory", False)
    _status(f"writing the figures and reports to {args.out}…")
    return _wrote(figures(db if db.is_file() else None, args.out, draw, theory))


def _cmd_reproduce(args) -> int:
    from pacbound.pipeline import is_exact, reproduce_exact

    path = _config_path(args)
    if not is_exact(path):
        from pacbound.pipeline import experiments
        from pacbound.pipeline.replication import committed_results, replicate_run
        from pacbound.report.replication import replication_markdown, summary_line

        names = [experiment.name for experiment in experiments(path)]
        committed = committed_results(args.committed, names)  # read before anything is written
        _cmd_sweep(args)
        args.db = args.db or _default_db()
        code = _cmd_figs(args)
        results = replicate_run(args.out, committed, names)
        for result in results:
            if "skipped" not in result:
                print("\n" + replication_markdown(result), end="")
        print(f"\nReplication against {args.committed}:")
        for result in results:
            skipped = result.get("skipped")
            print(f"{result['experiment']}: {skipped}" if skipped else summary_line(result))
        return code
    name, paths, seconds = reproduce_exact(path, args.out, say=_status)
    _wrote(paths)
    grid, analysis = seconds["grid"], seconds["analysis"]
    print(f"{name}: grid computed in {grid:.1f} s, analysed in {analysis:.1f} s")
    return 0


def _cmd_compare(args) -> int:
    from pacbound.pipeline import compare
    from pacbound.report.comparison import report_markdown

    result = compare(args.db or _default_db(), args.name, args.out)
    print(json.dumps(result, indent=1) if args.json else report_markdown(result), end="")
    return 0


def _cmd_certify(args) -> int:
    from pacbound.pipeline import certify

    db = args.db or _default_db()
    options = (args.cache, args.quiet, args.allow_version_change, args.out)
    certify(_config_path(args), db, *options, say=print)
    return 0


def _cmd_probe(args) -> int:
    from pacbound.pipeline import probe
    from pacbound.report.probe import probe_report

    experiments = _experiments(args)
    if len(experiments) > 1:
        names = ", ".join(e.name for e in experiments)
        raise ValueError(f"the config holds several experiments ({names}): pass one base's file")
    cache = args.cache or (args.db or _default_db()).parent / "cache"
    cell = (args.bucket, args.budget, args.seed)
    print(probe_report(probe(experiments[0], cache, cell, args.level, _status)), end="")
    return 0


def _cmd_weights(args) -> int:
    from pacbound.pipeline import token_weights
    from pacbound.report.objectives import write_weights_report

    experiments = [e for e in _experiments(args) if e.finetune.objective == args.objective]
    if len(experiments) != 1:
        raise ValueError(
            f"objective = {args.objective!r}: the config has no single such experiment"
        )
    experiment = experiments[0]
    bucket = args.bucket or experiment.grid.buckets[-1].name
    cache = args.cache or (args.db or _default_db()).parent / "cache"
    cells = [(bucket, n, args.seed) for n in sorted(experiment.grid.budgets)]
    for path in write_weights_report(token_weights(experiment, cache, cells, _status), args.out):
        print(f"wrote {path}")
    return 0


def _cmd_recommend(args) -> int:
    from pacbound.pipeline.recommend import recommendation
    from pacbound.report.recommend import recommendation_markdown

    if args.pilots is not None and (args.db or args.name):
        raise ValueError("pilots: give a pilot file or --db/--name, not both")
    db = None if args.pilots is not None else args.db or _default_db()
    result = recommendation(args.pilots, db, args.name, args.budget)
    _warn(result["bootstrap_warning"])
    print(json.dumps(result, indent=1) if args.json else recommendation_markdown(result), end="")
    return 0


#: Where ``predict`` writes without --out: a scratch folder, never the committed paper_figs.
PREDICTIONS_SCRATCH = Path("pacbound-results") / "predictions"


def _cmd_predict(args) -> int:
    from pacbound.pipeline.predictions import predictions_from_report

    out = args.out
    if out is None:
        out = PREDICTIONS_SCRATCH
        print(f"no --out: writing into the scratch folder {out}/")
    predictions, paths = predictions_from_report(args.report, out)
    for what, why in predictions.get("not_recomputed", {}).items():
        print(f"pacbound: note: {what}: {why}", file=sys.stderr)
    _warn(predictions.get("bootstrap_warning"))
    return _wrote(paths)


def _warn(warning: str | None) -> None:
    if warning:
        print(f"pacbound: warning: {warning}", file=sys.stderr)


def _cmd_replicate(args) -> int:
    from pacbound.pipeline.replication import replicate_reports
    from pacbound.report.replication import replication_markdown

    claims = tuple(args.claims) if args.claims else None
    result = replicate_reports(args.first, args.second, claims)
    print(json.dumps(result, indent=1) if args.json else replication_markdown(result), end="")
    return 0  # disagreement is a finding, not a failure


def _cmd_export(args) -> int:
    from pacbound.pipeline import export

    text = export(args.db or _default_db(), args.name, args.format, args.outcomes)
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _wrote(paths) -> int:
    for path in paths:
        print(f"wrote {path}")
    return 0


COMMANDS = {
    "bound": _cmd_bound,
    "derive": _cmd_derive,
    "optimum": _cmd_optimum,
    "figs": _cmd_figs,
    "sweep": _cmd_sweep,
    "compare": _cmd_compare,
    "reproduce": _cmd_reproduce,
    "export": _cmd_export,
    "probe": _cmd_probe,
    "weights": _cmd_weights,
    "certify": _cmd_certify,
    "recommend": _cmd_recommend,
    "predict": _cmd_predict,
    "replicate": _cmd_replicate,
}
