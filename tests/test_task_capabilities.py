"""Tasks state what the other stages need (their capabilities), and those stages read the
task, never its kind: a new language task needs its class and one entry of ``TASK_KINDS``."""

import tomllib
from dataclasses import dataclass, fields, replace

import numpy as np
import pytest

from pacbound import config, pipeline
from pacbound.analysis.table import cell_arrays, level_tolerance, runs_from_arrays
from pacbound.numeric.bounds import generalization_bound
from pacbound.pipeline.objectives import token_weights
from pacbound.report.comparison import certificate_source
from pacbound.store import Cell
from pacbound.tasks.base import Example, held_out_sets

CAPABILITIES = {
    "exact_risks": bool,
    "complexity": tuple,
    "solution_roles": bool,
    "label_free_steps": int,
    "level_key": str,
    "level_range": range,
}


@dataclass(frozen=True)
class ToySum:
    """A minimal language task: ``level`` digits, and their sum mod 10 as the solution."""

    depth: int = 4  # levels 1 … depth

    exact_risks = False
    complexity = ("sq_distance", "‖θ − θ_pre‖²")
    solution_roles = False
    label_free_steps = 0
    level_key = "depth"

    @property
    def level_range(self) -> range:
        return range(1, self.depth + 1)

    @property
    def levels(self) -> tuple[int, ...]:
        return tuple(self.level_range)

    @property
    def length(self) -> int:
        return self.depth + 3  # BOS, the digits, "=", the sum

    vocab_size = 13  # PAD, BOS, "=", the digits 0 … 9

    def sample(self, seed: int, level: int) -> Example:
        digits = [int(d) for d in np.random.default_rng(seed).integers(0, 10, level)]
        sequence = [1, *(3 + d for d in digits), 2, 3 + sum(digits) % 10]
        tokens = np.zeros(self.length, np.int32)
        tokens[: len(sequence)] = sequence
        loss_mask = np.zeros(self.length, np.float32)
        loss_mask[len(sequence) - 2] = 1.0  # "=" predicts the sum
        return Example(tokens, loss_mask, level, problem_length=len(sequence) - 1)

    problem_count_exact = True

    def problem_count(self, level: int) -> int:
        return 10**level


@dataclass(frozen=True)
class ToySumWithRoles(ToySum):
    solution_roles = True


def _raw(tiny, **task) -> dict:
    """The tiny experiment's tables with ``task`` as its [task] table."""
    raw = tomllib.loads(tiny.read_text())
    return {**raw, "task": task} if task else raw


@pytest.mark.parametrize("kind", sorted(config.TASK_KINDS))
def test_every_registered_task_states_every_capability(kind):
    task_class = config.TASK_KINDS[kind]
    task = task_class()
    for name, kind_of_value in CAPABILITIES.items():
        assert isinstance(getattr(task, name), kind_of_value), name
    assert len(task.complexity) == 2 and all(isinstance(p, str) for p in task.complexity)
    assert isinstance(getattr(task, task.level_key), int)
    # Class attributes, not dataclass fields: a config's hash holds its task's fields only.
    assert not set(CAPABILITIES) & {f.name for f in fields(task_class)}


def test_capabilities_of_the_registered_tasks():
    exact = config.kinds_with("exact_risks")
    assert exact == ("solvable",) and config.kinds_with("solution_roles") == ("igsm-chain",)
    assert config.TASK_KINDS["solvable"].complexity == ("kl", "KL")
    assert config.TASK_KINDS["solvable"]().level_range == range(1, 7)


def test_a_new_language_task_needs_only_its_class_and_the_registry(tiny, monkeypatch):
    monkeypatch.setitem(config.TASK_KINDS, "toy", ToySum)
    experiment = config.from_dict(_raw(tiny, kind="toy", depth=4))
    assert experiment.levels == (1, 2, 3, 4) and experiment.model.vocab_size == 13
    assert sorted(held_out_sets(experiment.task, 0, 2)) == [1, 2, 3, 4]
    assert level_tolerance(experiment, 3) == level_tolerance(config.load(tiny), 3) > 0
    assert certificate_source(experiment, certified=False).startswith("none")
    # Its level count is checked under its own key.
    with pytest.raises(ValueError, match=r"^\[task\] depth = 2147483647 is out of range: "):
        config.from_dict(_raw(tiny, kind="toy", depth=2**31 - 1))
    # It has no [model]: it needs one, as every task without exact risks does.
    raw = {k: v for k, v in _raw(tiny, kind="toy").items() if k != "model"}
    with pytest.raises(ValueError, match=r"^task kind 'toy' needs \[model\] and \[pretrain\]$"):
        config.from_dict(raw)


def test_the_probe_reads_the_solution_roles_capability(tiny, tmp_path, monkeypatch):
    monkeypatch.setitem(config.TASK_KINDS, "toy", ToySum)
    monkeypatch.setitem(config.TASK_KINDS, "toy-roles", ToySumWithRoles)
    toy = config.from_dict(_raw(tiny, kind="toy"))
    refusal = r"^task kind = 'toy' is not one of igsm-chain, toy-roles: the probe reads "
    with pytest.raises(ValueError, match=refusal):
        pipeline.probe(toy, tmp_path, ("easy", 2, 0), 2)
    with pytest.raises(ValueError, match=r"^task kind = 'toy' is not one of .*: token weights"):
        token_weights(toy, tmp_path, [("easy", 2, 0)])
    # A task with roles passes the check, whatever its kind, and reaches the cell's (no
    # training: the cell is not in the grid).
    for experiment in (
        config.from_dict(_raw(tiny, kind="toy-roles")),
        replace(config.load(tiny), task_kind="igsm"),
    ):
        with pytest.raises(ValueError, match=r"^cell \('medium', 2, 0\) is not in the grid"):
            pipeline.probe(experiment, tmp_path, ("medium", 2, 0), 2)


def _cells(experiment, kl: float) -> list[Cell]:
    """Every cell of the grid with fixed errors, its KL and its squared distance."""
    errors = {str(k): 0.25 for k in experiment.levels}
    record = {
        "level_errors": errors,
        "gain": dict.fromkeys(errors, 0.0),
        "train_error": 0.1,
        "in_distribution_error": 0.25,
        "target_error": 0.25,
        "kl": kl,
        "sq_distance": 2.0,
    }
    return [Cell(b, n, s, record) for b, n, s in experiment.cells]


def test_the_analysis_reads_exact_risks_and_complexity_from_the_task(tiny):
    """The solvable task under another kind's name is still analysed as exact, and a
    language task named "solvable" still is not."""
    solvable = replace(config.preset("solvable"), task_kind="igsm-chain")
    table = cell_arrays(solvable, _cells(solvable, kl=3.0), dict.fromkeys(solvable.levels, 0.5))
    n = np.array(solvable.grid.budgets, float)[None, :, None]
    expected = generalization_bound("kl", 0.1, 3.0, n, solvable.compare.delta)[0]
    shape = table.target_error.shape
    np.testing.assert_allclose(table.certificate, np.broadcast_to(expected, shape))
    runs = runs_from_arrays(solvable, table, dict.fromkeys(solvable.levels, 0.5))
    assert runs.complexity_name == "KL" and np.all(runs.complexity == 3.0)
    assert level_tolerance(solvable, 3) == 0.0
    assert "exact KL" in certificate_source(solvable, certified=False)

    language = replace(config.load(tiny), task_kind="solvable")
    table = cell_arrays(language, _cells(language, kl=3.0), dict.fromkeys(language.levels, 0.5))
    assert table.certificate is None and "kl" not in table.terms
    runs = runs_from_arrays(language, table, dict.fromkeys(language.levels, 0.5))
    assert runs.complexity_name == "‖θ − θ_pre‖²" and np.all(runs.complexity == 2.0)
    assert level_tolerance(language, 3) > 0
    assert certificate_source(language, certified=False).startswith("none")
