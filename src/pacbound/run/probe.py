"""What a fine-tuned model writes where it goes wrong: a probe of the chain task.

For every held-out problem of a level, one teacher-forced pass gives the model's argmax at
each solution position. The probe reports the first position where it differs from the
solution, by its role in the solution (step i's operation, constant or value; the answer
marker; the answer's value; EOS) and by the kind of token written there instead. The
whole-solution 0-1 loss counts a problem wrong exactly when such a position exists.

``token_probabilities`` reads the same layout the other way: the probability a model gives
each solution token, by role and level, which under DFT is that token's weight.

``cell_runner`` and ``finetune_cell`` retrain one cell of a swept grid for either reading.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from pacbound.model import apply
from pacbound.run.measure import next_token_log_probs
from pacbound.run.sweep import LanguageRunner
from pacbound.tasks.igsm import _OP_BASE, _VALUE_BASE, ANSWER, EOS, PAD


def cell_runner(experiment, cache: Path) -> LanguageRunner:
    """The runner that retrains cells of ``experiment`` one at a time as the sweep does, its
    base loaded from ``cache`` (pretrained if not cached). One member, not a padded
    ensemble: a cell's run does not depend on its batch."""
    experiment = replace(experiment, grid=replace(experiment.grid, ensemble=1))
    return LanguageRunner(experiment, cache, lambda phase: None)


def finetune_cell(runner: LanguageRunner, cell: tuple):
    """The parameters of ``cell`` (bucket, budget, seed) fine-tuned from ``runner``'s base on
    the cell's own data and key."""
    params_M, *_ = runner.finetune_batch([cell])
    return jax.tree.map(lambda x: x[0], params_M)


def token_kind(token: int) -> str:
    if token == EOS:
        return "EOS"
    if token == ANSWER:
        return "answer marker"
    if token == PAD:
        return "PAD"
    if _OP_BASE <= token < _VALUE_BASE:
        return "operation"
    if token >= _VALUE_BASE:
        return "value"
    return "other"


def solution_role(index: int, level: int) -> str:
    """The role of the index-th solution token (0-based) of a chain problem of ``level``."""
    if index < 3 * level:
        step, part = divmod(index, 3)
        return f"step {step + 1} {('operation', 'constant', 'value')[part]}"
    return ("answer marker", "answer value", "EOS")[index - 3 * level]


@partial(jax.jit, static_argnums=2)
def _argmax_tokens(params, tokens, model_config):
    """The model's argmax at every position, compiled as one program (run eagerly, each of
    the model's operations would compile alone)."""
    return jnp.argmax(apply(params, tokens, model_config), axis=-1)


def first_errors(params, model_config, dataset, level: int) -> Counter:
    """Counter of (role of the first wrong solution token, kind written there) over the
    problems of ``dataset`` (all of one ``level``); ("correct", "") for the right ones."""
    tokens = jnp.asarray(dataset.tokens)
    predictions = np.asarray(_argmax_tokens(params, tokens, model_config))
    targets = np.roll(np.asarray(dataset.tokens), -1, axis=1)
    mask = np.asarray(dataset.loss_mask) > 0
    found = Counter()
    for row in range(len(dataset)):
        positions = np.flatnonzero(mask[row])
        wrong = positions[predictions[row, positions] != targets[row, positions]]
        if not len(wrong):
            found[("correct", "")] += 1
            continue
        first = int(wrong[0])
        role = solution_role(int(first - positions[0]), level)
        found[(role, token_kind(int(predictions[row, first])))] += 1
    return found


#: The roles of a chain solution's tokens, in solution order (``solution_role`` without the
#: step number).
ROLES = ("operation", "constant", "value", "answer marker", "answer value", "EOS")


def token_probabilities(params, model_config, dataset):
    """(probability_T, role_T, level_T): the probability the model gives each solution
    token of ``dataset`` (teacher forced; under DFT, that token's weight), the index of its
    role in ``ROLES`` and its problem's level, over every solution token of every row."""
    tokens = jnp.asarray(dataset.tokens)
    log_p_BxL = np.asarray(next_token_log_probs(apply(params, tokens, model_config), tokens))
    mask = np.asarray(dataset.loss_mask) > 0
    probabilities, roles, levels = [], [], []
    for row in range(len(dataset)):
        positions = np.flatnonzero(mask[row])
        probabilities.append(np.exp(log_p_BxL[row, positions]))
        level = int(dataset.levels[row])
        roles.append([ROLES.index(_role(i, level)) for i in range(len(positions))])
        levels.append(np.full(len(positions), level))
    return np.concatenate(probabilities), np.concatenate(roles), np.concatenate(levels)


def _role(index: int, level: int) -> str:
    """``solution_role`` without its step number."""
    role = solution_role(index, level)
    return role.split(" ", 2)[-1] if role.startswith("step ") else role
