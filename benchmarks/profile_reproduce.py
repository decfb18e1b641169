"""Where the main job's time goes: CPU and wall seconds per stage of `pacbound reproduce`.

    python benchmarks/profile_reproduce.py [--preset quick] [--work DIR] [--json FILE]

Runs the command as a user would (a fresh store, a fresh base cache, reports into a scratch
folder under ``--work``), with each stage's functions wrapped by a timer. Every second is
counted once, in the innermost stage running (a stage called inside another counts as
itself, not as its caller). CPU seconds are the process's user + system time (all threads);
XLA's compilation is taken out of the stage that triggered it and shown on its own line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import time
from collections import defaultdict
from pathlib import Path

import jax
import jax.monitoring

#: (module, attribute, stage): what is timed, as the pipeline looks each one up.
WRAPPED = [
    ("pacbound.run.sweep", "held_out_sets", "data"),
    ("pacbound.run.sweep", "mixture_sample", "data"),
    ("pacbound.run.sweep", "mixture_dataset", "data"),
    ("pacbound.run.sweep", "pretrain", "pretraining"),
    ("pacbound.run.sweep.LanguageRunner", "finetune_batch", "fine-tuning"),
    ("pacbound.run.sweep.LanguageRunner", "level_outcomes", "measurement"),
    ("pacbound.run.certify.Certifier", "__init__", "certification"),
    ("pacbound.run.certify.Certifier", "certify", "certification"),
    ("pacbound.store.Store", "save_cells", "store"),
    ("pacbound.pipeline", "comparison", "comparison"),
    ("pacbound.pipeline", "claims", "claims"),
    ("pacbound.analysis.predict", "evaluate", "predictions"),
    ("pacbound.pipeline", "summarize", "certificate summary"),
    ("pacbound.report.figures", "theory_figures", "figures"),
    ("pacbound.report.figures", "experiment_figures", "figures"),
    ("pacbound.report.figures", "certificate_by_budget", "figures"),
    ("pacbound.report.figures", "certificate_vs_risk", "figures"),
    ("pacbound.report.comparison", "write_report", "reports"),
    ("pacbound.report.markdown", "write_pair", "reports"),
    ("pacbound.report.index", "write_index", "index"),
]
ORDER = [
    "other",
    "data",
    "pretraining",
    "fine-tuning",
    "measurement",
    "certification",
    "store",
    "comparison",
    "claims",
    "predictions",
    "certificate summary",
    "reports",
    "figures",
    "index",
    "compilation",
]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Stages:
    """A stack of running stages; each interval of time goes to the top of the stack."""

    def __init__(self):
        self.cpu, self.wall = defaultdict(float), defaultdict(float)
        self.stack = ["other"]  # imports and glue
        self.mark = (cpu_seconds(), time.perf_counter())

    def _switch(self, push: str | None):
        cpu, wall = cpu_seconds(), time.perf_counter()
        self.cpu[self.stack[-1]] += cpu - self.mark[0]
        self.wall[self.stack[-1]] += wall - self.mark[1]
        self.mark = (cpu, wall)
        if push is None:
            self.stack.pop()
        else:
            self.stack.append(push)

    def wrap(self, function, stage: str):
        def timed(*args, **kwargs):
            self._switch(stage)
            try:
                return function(*args, **kwargs)
            finally:
                self._switch(None)

        return timed

    def compiled(self, event: str, seconds: float, **kwargs) -> None:
        """Compilation (wall seconds, one thread): moved from the stage that asked for it."""
        if event.startswith("/jax/core/compile/"):  # tracing, lowering, XLA
            self.cpu["compilation"] += seconds
            self.wall["compilation"] += seconds
            self.cpu[self.stack[-1]] -= seconds
            self.wall[self.stack[-1]] -= seconds

    def close(self) -> None:
        self._switch("done")


def install(stages: Stages) -> None:
    import importlib

    for where, attribute, stage in WRAPPED:
        module_name, _, owner = where.rpartition(".")
        try:
            holder = getattr(importlib.import_module(module_name), owner)
        except (ImportError, AttributeError):
            holder = importlib.import_module(where)
        setattr(holder, attribute, stages.wrap(getattr(holder, attribute), stage))
    # The error counter is made once per runner; what it makes is what measures.
    sweep = importlib.import_module("pacbound.run.sweep")
    make = sweep.make_error_counter
    sweep.make_error_counter = lambda *a, **k: stages.wrap(make(*a, **k), "measurement")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--work", type=Path, default=Path("/tmp/pacbound-profile"))
    parser.add_argument("--json", type=Path, help="also write the table here")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    out = args.work / "figs"
    # The committed reports of the other presets sit beside the new ones, as in paper_figs/.
    shutil.copytree(Path(__file__).resolve().parents[1] / "paper_figs", out)

    stages = Stages()
    jax.monitoring.register_event_duration_secs_listener(stages.compiled)
    from pacbound.cli import main as pacbound

    install(stages)
    db, cache = args.work / "results.sqlite", args.work / "cache"
    argv = ["reproduce", "--preset", args.preset, "--db", str(db), "--cache", str(cache)]
    pacbound([*argv, "--out", str(out), "--quiet"])
    stages.close()

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"jax {jax.__version__}; peak RSS {peak:.0f} MiB"
    )
    print(f"{'stage':<20} {'CPU s':>8} {'wall s':>8}")
    for stage in ORDER:
        print(f"{stage:<20} {stages.cpu[stage]:8.1f} {stages.wall[stage]:8.1f}")
    print(f"{'total':<20} {sum(stages.cpu.values()):8.1f} {sum(stages.wall.values()):8.1f}")
    if args.json:
        table = {s: {"cpu_s": stages.cpu[s], "wall_s": stages.wall[s]} for s in ORDER}
        args.json.write_text(json.dumps(table, indent=1) + "\n")


if __name__ == "__main__":
    main()
