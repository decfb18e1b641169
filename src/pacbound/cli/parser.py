"""The command line: one subcommand per pipeline step, each argument checked by argparse
(a bad one is a ``UsageError`` of one line). Building the parser imports only the standard
library, so that ``--help`` answers at once: the choices and defaults below copy constants
of modules that import sympy or JAX (seconds), and a test checks each copy; the ``bound``
command's options are read from ``bound_options``, which both sides import."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from pacbound import __version__
from pacbound.bound_options import FORM_OPTIONS, parameters

# Copies of symbolic.difficulty.GENERALIZATION_FORMS and store.DEFAULT_PATH (the store
# without --db).
GENERALIZATION_FORMS = ("mcallester", "kl")
DEFAULT_DB = Path("pacbound-results") / "results.sqlite"

DESCRIPTION = (
    "PAC-Bayes bounds on the target risk of a fine-tuned model (an empirical risk, a "
    "generalization gap and a distribution-shift gap), the data difficulty that minimises "
    "them at each budget, and the experiments that test that prediction: sweep a grid of "
    "fine-tunings into a store, compare, certify and report."
)
EPILOG = "Run `pacbound COMMAND --help` for a command's options."


class UsageError(Exception):
    """A bad command line; its message is argparse's, one line."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line, exit status 2."""

    def error(self, message):
        raise UsageError(message)


def _float_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        values = ()
    if not values or not all(map(math.isfinite, values)):  # at least one, each finite
        raise argparse.ArgumentTypeError(f"not a comma-separated list of finite numbers: {text!r}")
    return values


def build_parser(description: str = DESCRIPTION) -> argparse.ArgumentParser:
    parser = _Parser(prog="pacbound", description=description, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"pacbound {__version__}")
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        parser_class=_Parser,
        metavar="COMMAND",
        title="commands",
        help="one step of the pipeline:",
    )

    bound = commands.add_parser(
        "bound",
        help="evaluate a PAC-Bayes two-gap bound and its terms",
        description="R_T(Q) ≤ empirical + [MC correction] + generalization + extrapolation.",
    )
    forms = ", ".join(form.label for form in FORM_OPTIONS.values())
    bound.add_argument(
        "--kind",
        required=True,
        choices=(*FORM_OPTIONS, "all"),
        help=f"the bound's form ({forms}), or all",
    )
    for param in parameters(FORM_OPTIONS.values()):
        bound.add_argument(
            param.flag,
            dest=param.name,
            type=_float_list if param.each else float,
            required=param.required,
            default=param.default,
            metavar=param.metavar or None,
            help=param.help,
        )
    bound.add_argument("--json", action="store_true", help="machine-readable output")

    derive = commands.add_parser(
        "derive",
        help="print the symbolic derivations",
        description="Print every derivation of the theory, computed by sympy (the bounds' "
        "budgets and forms, the Monte-Carlo step, the certificate, the gain over the base, "
        "the two-gap bound, the optimal-difficulty closed forms), as Markdown or plain LaTeX; "
        "with --family, the optimal-difficulty derivation of one difficulty model; with "
        "--write or --check, the generated blocks of a theory page. sympy takes about half a "
        "minute for the closed forms.",
    )
    derive.add_argument("--latex", action="store_true", help="plain LaTeX instead of Markdown")
    derive.add_argument(
        "--family", default=None, help="the optimal-difficulty derivation of KL-SHIFT[-RISK]"
    )
    derive.add_argument(
        "--bound", choices=GENERALIZATION_FORMS, default="mcallester", help="the bound of --family"
    )
    target = derive.add_mutually_exclusive_group()
    target.add_argument(
        "--write", type=Path, metavar="FILE", help="refresh the generated blocks of FILE"
    )
    target.add_argument(
        "--check", type=Path, metavar="FILE", help="exit 1 if FILE's generated blocks drift"
    )
    optimum = commands.add_parser(
        "optimum",
        help="the bound-minimising difficulty d*(n) of a difficulty model",
        description="The difficulty d*(n) that minimises the bound of a difficulty model "
        "(a KL-SHIFT[-RISK] family with its --param values, or sympy expressions in d for "
        "its terms) at each budget of --n, over the interval --domain or among --buckets; "
        "with the bound and each of its terms there.",
    )
    optimum.add_argument(
        "--family",
        default="linear-exponential-constant",
        help="KL-SHIFT[-RISK], e.g. linear-exponential-constant (the default)",
    )
    optimum.add_argument(
        "--bound", choices=GENERALIZATION_FORMS, default="mcallester", help="the bound's form"
    )
    optimum.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a parameter value"
    )
    for term, meaning in (("kl", "K(d)"), ("shift", "T(d)"), ("risk", "R̂(d)")):
        for command in (optimum, derive):
            command.add_argument(
                f"--{term}-expr",
                default=None,
                help=f"an expression in d replacing {meaning}: numbers, d, the parameters, "
                "+ - * / ^ ( ) and exp, log, sqrt, …; parsed, never run; a leading minus: "
                f"--{term}-expr=-d",
            )
    optimum.add_argument("--n", type=_float_list, required=True, help="sample sizes, e.g. 100,1000")
    optimum.add_argument("--domain", type=_float_list, default=(0.0, 1.0), help="d_min,d_max")
    optimum.add_argument("--buckets", type=_float_list, default=None, help="difficulties")
    optimum.add_argument("--json", action="store_true", help="machine-readable output")

    figs = commands.add_parser(
        "figs",
        help="regenerate every figure and report (theory, and each experiment in the store; "
        "without a store, every report in --out from its JSON)",
        description="Regenerate the theory figures, then each experiment's figures and "
        "reports (comparison, certificates, claims) from the store, and the index README.md "
        "of --out. Without a store, every report in --out is rebuilt from its JSON.",
    )
    figs.add_argument("--out", type=Path, default=Path("paper_figs"), help="output folder")
    figs.add_argument(
        "--reports-only", action="store_true", help="the reports and the index, no figures"
    )
    figs.add_argument(
        "--no-theory",
        action="store_true",
        help="leave the theory figures as they are (they depend on no store)",
    )
    _add_db_argument(figs)

    compare = commands.add_parser(
        "compare",
        help="predicted vs measured optimal difficulty",
        description="Compare the bucket each predictor (the bounds among them) calls optimal "
        "with the measured optimum of a finished experiment of the store, per budget; write "
        "<name>_report.md and .json to --out and print the report.",
    )
    _add_db_argument(compare)
    compare.add_argument("--name", default=None, help="experiment, if the store holds several")
    compare.add_argument("--out", type=Path, default=Path("paper_figs"), help="report folder")
    compare.add_argument("--json", action="store_true", help="print the JSON, not Markdown")

    reproduce = commands.add_parser(
        "reproduce",
        help="sweep, compare and figs in one",
        description="The main job: sweep the experiment into the store (finished cells are "
        "reused), write every figure and report to --out, and compare them with the "
        "committed results in --committed (how many numbers agree within their "
        "uncertainty, which verdicts changed). An exact preset (e.g. --preset exact) is "
        "computed in closed form instead, with no store.",
    )
    _add_run_arguments(reproduce)
    reproduce.add_argument(
        "--out",
        type=Path,
        default=Path("pacbound-results/figs"),
        help="output folder (paper_figs: regenerate the committed set)",
    )
    reproduce.add_argument(
        "--committed",
        type=Path,
        default=Path("paper_figs"),
        help="committed results to compare the run with (read before the run writes)",
    )

    sweep = commands.add_parser(
        "sweep",
        help="run an experiment's grid into the store",
        description="Pretrain the experiment's bases, then fine-tune and measure every cell "
        "of its grid (bucket × budget × seed); each cell is stored as it finishes, so a "
        "rerun skips the finished cells and an interrupted sweep resumes.",
    )
    _add_run_arguments(sweep)

    certify = commands.add_parser(
        "certify",
        help="PAC-Bayes certificates of every cell, beside the risks they certify",
        description="Sweep the experiment if needed (a config with a [certify] table stores "
        "a certificate with every cell), then write <name>_certificates.md and .json: per "
        "cell the certificate, the measured risk of its posterior, validity and vacuity.",
    )
    _add_run_arguments(certify)
    certify.add_argument("--out", type=Path, default=Path("paper_figs"), help="report folder")

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

    weights = commands.add_parser(
        "weights",
        help="where DFT puts its weight: token probabilities by role and level",
        description="Fine-tune one cell per budget (the hardest bucket unless --bucket) and "
        "write <experiment>_weights.md/.json: the mean probability of its training solution "
        "tokens by role and level, under the base and the fine-tuned model.",
    )
    _add_experiment_arguments(weights)
    weights.add_argument("--objective", default="dft", help="the family member (default dft)")
    weights.add_argument("--bucket", default=None, help="a bucket (default: the hardest)")
    weights.add_argument("--seed", type=int, default=0, help="a seed of the experiment")
    weights.add_argument("--out", type=Path, default=Path("paper_figs"), help="folder")

    recommend = commands.add_parser(
        "recommend",
        help="which bucket to fine-tune on at a budget, from pilot runs",
        description="Read pilot runs (a CSV or JSON Lines file, one row per run: bucket or "
        "difficulty, n, seed, target_error / target_accuracy / level_<k>, optional distance; "
        "see experiments/pilots-example.csv), or an experiment of a pacbound store, and "
        "recommend a bucket at --budget: each pilot-only predictor's choice, the one with "
        "the lowest far-half regret on the pilots (the smaller half of the pilot budgets "
        "predicting the larger; leave-one-budget-out with two budgets), its bootstrap "
        "interval over seeds, and how far the budget lies from the pilots.",
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
        "<name>_report.json (the seed means and per-run errors it holds) and its preset, "
        "for experiments whose store is not at hand. What a report cannot give (the theory "
        "predictors' intervals need the store's per-run inputs) is named in a note on stderr "
        "and in the report. Stored experiments get theirs from `pacbound figs`.",
    )
    predictions.add_argument("report", type=Path, help="a <name>_report.json")
    predictions.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder to write into, and nowhere else (default: the scratch folder "
        "pacbound-results/predictions; the committed paper_figs only when named here)",
    )

    replicate = commands.add_parser(
        "replicate",
        help="does a rerun agree with committed results within their uncertainty?",
        description="Compare two comparison reports of one experiment config (FIRST the "
        "committed <name>_report.json, SECOND a rerun's): every gain over the base against "
        "its 95%% interval (|z| of the difference within the t or normal 97.5%% quantile) and "
        "every verdict (optimum per budget, switch, inverted U, better or worse than the base, "
        "trend). Exit 0 whether or not they agree.",
    )
    replicate.add_argument("first", type=Path, help="the committed <name>_report.json")
    replicate.add_argument("second", type=Path, help="the rerun's <name>_report.json")
    replicate.add_argument(
        "--claims",
        nargs=2,
        type=Path,
        default=None,
        metavar=("FIRST_CLAIMS", "SECOND_CLAIMS"),
        help="the two claims.json files: compare the experiment's pooled claim verdicts too",
    )
    replicate.add_argument("--json", action="store_true", help="print the JSON, not Markdown")

    export = commands.add_parser(
        "export",
        help="write the stored cells as a flat table",
        description="Write the cells of an experiment of the store as a flat table, one row "
        "per cell (CSV or JSON), to --out or stdout.",
    )
    _add_db_argument(export)
    export.add_argument("--name", default=None, help="experiment name, if the store holds several")
    export.add_argument(
        "--format", choices=("csv", "json"), default="csv", help="the table's format (default csv)"
    )
    export.add_argument(
        "--outcomes",
        action="store_true",
        help="add each cell's outcome on every held-out problem (a 0/1 string)",
    )
    export.add_argument("--out", type=Path, default=None, help="file (default: stdout)")
    return parser


def _add_db_argument(command) -> None:
    command.add_argument("--db", type=Path, default=None, help=f"store (default {DEFAULT_DB})")


def _add_run_arguments(command) -> None:
    """The arguments of a command that runs an experiment's grid."""
    _add_experiment_arguments(command)
    command.add_argument(
        "--allow-version-change",
        action="store_true",
        help="resume an experiment that other pacbound code computed, recording both",
    )
    command.add_argument("--quiet", action="store_true", help="log lines, no progress bar")


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
