"""How a model is trained, as plain data: the optimizer with its step policy
(``OptimizerConfig``) and the pretraining of a base (``PretrainConfig``).

``config`` reads them from an experiment's TOML and ``train`` runs them; both import them
from here, so that the config does not depend on the trainer (nor the trainer on the
config). Frozen dataclasses checked on construction, with NumPy for the step counts: no
JAX. The step policies and what the trainer does with these fields are described in
``pacbound.train``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCHEDULES = ("fixed", "epochs")
#: "sft": the mean cross-entropy of the solution tokens; "dft": Dynamic Fine-Tuning (Wu et
#: al. 2025, arXiv 2508.05629), each token's cross-entropy weighted by the stop-gradient of
#: the model's own probability of that token.
OBJECTIVES = ("sft", "dft")


@dataclass(frozen=True)
class OptimizerConfig:
    """AdamW with linear warm-up then cosine decay to 10% and global-norm clipping.

    ``steps``: the steps of every run under the ``fixed`` policy, the cap under ``epochs``.
    ``warmup_fraction``: when set, a run of s steps warms up for round(fraction · s) steps;
    otherwise for min(warmup_steps, s).
    """

    steps: int
    batch: int = 16
    learning_rate: float = 1e-2
    warmup_steps: int = 100
    weight_decay: float = 0.1
    clip_norm: float = 1.0
    schedule: str = "fixed"
    epochs: float = 0.0  # passes over the n examples (``epochs`` policy only)
    min_steps: int = 1  # the floor of a run's steps (``epochs`` policy only)
    warmup_fraction: float | None = None
    subspace: int = 0  # k > 0: fine-tune w in θ = θ_pre + P·w, P a d × k random projection
    projection_seed: int = 0  # draws P, before any fine-tuning data exists
    # The peak rate of w is subspace_rate·√(d/k) (default learning_rate·√(d/k)): Adam moves
    # each coordinate by about the rate per step, so w then moves θ about as far per step as
    # the full weights would at subspace_rate.
    subspace_rate: float | None = None
    objective: str = "sft"  # one of OBJECTIVES

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(
                f"objective = {self.objective!r} is not one of {', '.join(OBJECTIVES)}"
            )
        if self.subspace < 0:
            raise ValueError(f"subspace = {self.subspace} is out of range: allowed [0, inf)")
        if self.subspace_rate is not None and not self.subspace_rate > 0:
            raise ValueError(
                f"subspace_rate = {self.subspace_rate} is out of range: allowed (0, inf)"
            )
        for name in ("steps", "batch", "min_steps"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"{name} = {getattr(self, name)} is out of range: allowed [1, inf)"
                )
        if self.warmup_fraction is None and not 0 <= self.warmup_steps <= self.steps:
            raise ValueError(
                f"warmup_steps = {self.warmup_steps} is out of range: allowed [0, {self.steps}]"
            )
        if not self.learning_rate > 0:
            raise ValueError(
                f"learning_rate = {self.learning_rate} is out of range: allowed (0, inf)"
            )
        for name in ("weight_decay", "clip_norm"):
            if not getattr(self, name) >= 0:
                raise ValueError(
                    f"{name} = {getattr(self, name)} is out of range: allowed [0, inf)"
                )
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule = {self.schedule!r} is not one of {', '.join(SCHEDULES)}")
        if self.schedule == "epochs":
            if not self.epochs > 0:
                raise ValueError(f"epochs = {self.epochs} is out of range: allowed (0, inf)")
            if self.min_steps > self.steps:
                raise ValueError(
                    f"min_steps = {self.min_steps} is out of range: allowed [1, {self.steps}]"
                )
        if self.warmup_fraction is not None and not 0 <= self.warmup_fraction < 1:
            raise ValueError(
                f"warmup_fraction = {self.warmup_fraction} is out of range: allowed [0, 1)"
            )

    def steps_for(self, n):
        """The optimizer steps of a run on n examples (n an int or an integer array)."""
        n = np.asarray(n)
        if self.schedule == "fixed":
            return np.full(n.shape, self.steps, dtype=np.int32)[()]
        wanted = np.ceil(self.epochs * n / self.batch).astype(np.int64)
        return np.clip(wanted, self.min_steps, self.steps).astype(np.int32)[()]


@dataclass(frozen=True)
class PretrainConfig:
    """The pretraining of a base: ``optimizer.steps`` steps on fresh problems of ``levels``,
    ``chunk`` steps per compiled call, from ``seed``."""

    levels: tuple[int, int]  # inclusive range of levels, sampled uniformly
    optimizer: OptimizerConfig
    seed: int = 0
    chunk: int = 250  # steps per compiled scan; fresh problems are sampled per chunk
    # Pretrain on one half of the problem space only (``tasks.base.pretraining_half``), so
    # that no fine-tuning, test or validity problem is ever seen by the base (the prior).
    disjoint: bool = False

    def __post_init__(self):
        if self.optimizer.subspace:
            raise ValueError("subspace is a fine-tuning option: [pretrain] trains every weight")
        if self.chunk < 1 or self.optimizer.steps % self.chunk:
            raise ValueError(
                f"chunk = {self.chunk} must divide the pretraining steps = {self.optimizer.steps}"
            )
