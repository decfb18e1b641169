"""The 0-1 loss of a model on a problem: is the whole solution reproduced?

Under a deterministic canonical solution, "every solution token is the argmax given the
correct prefix" is exactly "greedy decoding from the problem reproduces the solution": if
every teacher-forced argmax is right, greedy decoding follows the correct prefix all the way;
if one is wrong, greedy decoding emits that wrong token at the first such position. So one
teacher-forced pass gives the 0-1 loss; ``greedy_solution_correct`` decodes for real, to
check the equivalence.

``logits_fn(tokens_BxL) -> logits_BxLxV`` is any causal model (position t scores the token
at t + 1).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from pacbound.model import apply
from pacbound.numeric.lower import lower_to_jax
from pacbound.symbolic import solvable

LogitsFn = Callable[[jax.Array], jax.Array]
_solvable_loss = lower_to_jax(solvable.loss, ("residual", "loss_scale"))


def teacher_forced_correct(logits_fn: LogitsFn, tokens_BxL, loss_mask_BxL) -> jax.Array:
    """correct_B: True where the argmax equals the next token at every masked position."""
    return correct_from_logits(logits_fn(tokens_BxL), tokens_BxL, loss_mask_BxL)


def correct_from_logits(logits_BxLxV, tokens_BxL, loss_mask_BxL) -> jax.Array:
    """``teacher_forced_correct`` from logits already computed on ``tokens_BxL``."""
    predictions_BxL = jnp.argmax(logits_BxLxV, axis=-1)
    targets_BxL = jnp.roll(tokens_BxL, -1, axis=1)
    wrong_BxL = (predictions_BxL != targets_BxL) & (loss_mask_BxL > 0)
    return ~wrong_BxL.any(axis=1)


def prediction_disagreement(logits_a, logits_b, loss_mask_BxL, label_free_steps: int):
    """(anywhere_B, label_free_B): whether two models' teacher-forced argmax differs at some
    masked position, and at one of the first ``label_free_steps`` masked positions (those
    whose context holds the problem alone; 0: none, always False)."""
    masked_BxL = loss_mask_BxL > 0
    differ_BxL = (jnp.argmax(logits_a, axis=-1) != jnp.argmax(logits_b, axis=-1)) & masked_BxL
    leading_BxL = masked_BxL & (jnp.cumsum(masked_BxL, axis=1) <= label_free_steps)
    return differ_BxL.any(axis=1), (differ_BxL & leading_BxL).any(axis=1)


def greedy_solution_correct(logits_fn: LogitsFn, tokens_BxL, loss_mask_BxL) -> jax.Array:
    """correct_B by real greedy decoding: from the problem alone, generate every masked
    position's token from the model's own previous outputs, then compare with the solution.

    The loop runs over all L positions (static shape); a position is overwritten by the
    model's prediction only where the mask says it belongs to the solution.
    """
    length = tokens_BxL.shape[1]
    targets_BxL = jnp.roll(tokens_BxL, -1, axis=1)
    predict_BxL = loss_mask_BxL > 0  # position t predicts token t + 1

    def step(t, generated_BxL):
        next_B = jnp.argmax(logits_fn(generated_BxL)[:, t], axis=-1).astype(generated_BxL.dtype)
        write_B = predict_BxL[:, t]
        current_B = generated_BxL[:, (t + 1) % length]
        return generated_BxL.at[:, (t + 1) % length].set(jnp.where(write_B, next_B, current_B))

    # Solution tokens are blanked first, so nothing of the answer leaks into the prefix.
    blank_BxL = jnp.where(jnp.roll(predict_BxL, 1, axis=1), 0, tokens_BxL)
    generated_BxL = jax.lax.fori_loop(0, length - 1, step, blank_BxL)
    produced_BxL = jnp.roll(generated_BxL, -1, axis=1)
    return ~((produced_BxL != targets_BxL) & predict_BxL).any(axis=1)


# --- errors of trained models ------------------------------------------------------------


def next_token_log_probs(logits_BxLxV, tokens_BxL) -> jax.Array:
    """log_p_BxL: the log-probability the model gives each next token (position t scores
    the token at t + 1), teacher forced."""
    log_p = jax.nn.log_softmax(logits_BxLxV.astype(jnp.float32))
    targets_BxL = jnp.roll(tokens_BxL, -1, axis=1)
    return jnp.take_along_axis(log_p, targets_BxL[..., None], axis=-1)[..., 0]


def _row_chunks(score_chunk, chunk: int):
    """values_T(params, tokens_TxL, loss_mask_TxL): ``score_chunk(params, tokens_KxL,
    mask_KxL) -> values_K`` over the rows ``chunk`` at a time, padded with masked-out rows up
    to a multiple of ``chunk``; all levels share one padded length, hence one compile. Small
    chunks keep a chunk's attention scores in the CPU's cache (docs/benchmarks.md)."""

    def scored(params, tokens_TxL, loss_mask_TxL):
        rows = tokens_TxL.shape[0]
        padded = -(-rows // chunk) * chunk
        extra = ((0, padded - rows), (0, 0))
        tokens_CxKxL = jnp.pad(tokens_TxL, extra).reshape(padded // chunk, chunk, -1)
        mask_CxKxL = jnp.pad(loss_mask_TxL, extra).reshape(padded // chunk, chunk, -1)

        def score(pair):
            return score_chunk(params, *pair)

        return jax.lax.map(score, (tokens_CxKxL, mask_CxKxL)).reshape(padded)[:rows]

    return scored


def make_error_counter(config, chunk: int = 16):
    """wrong_T(params, tokens_TxL, loss_mask_TxL): 1.0 where the whole solution is not
    reproduced, rows scored ``chunk`` at a time (``_row_chunks``)."""

    def wrong_in_chunk(params, tokens, mask):
        return ~teacher_forced_correct(lambda t: apply(params, t, config), tokens, mask)

    wrong = _row_chunks(wrong_in_chunk, chunk)
    return jax.jit(lambda *args: wrong(*args).astype(jnp.float32))


def make_solution_loss(config, chunk: int = 16):
    """loss_T(params, tokens_TxL, loss_mask_TxL): each row's −ln p(solution | problem), the
    cross-entropy summed over its masked (solution) tokens, teacher forced; rows scored
    ``chunk`` at a time (``_row_chunks``)."""

    def loss_in_chunk(params, tokens, mask):
        return -(next_token_log_probs(apply(params, tokens, config), tokens) * mask).sum(axis=1)

    return jax.jit(_row_chunks(loss_in_chunk, chunk))


def squared_distance(params, base_params) -> jax.Array:
    """‖θ − θ_base‖²: the KL between N(θ, σ²I) and N(θ_base, σ²I) is this over 2σ²."""
    leaves = jax.tree.leaves(
        jax.tree.map(lambda a, b: jnp.sum(jnp.square(a - b)), params, base_params)
    )
    return sum(leaves)


def solvable_level_risks_mc(task, mean_D, variance_D, key, samples: int):
    """(risk_K, standard_error_K): Monte-Carlo risks of the Gaussian posterior N(mean,
    diag variance) on every level of a ``SolvableLinear`` task, from fresh examples and
    fresh posterior draws; the simulation that the closed form is checked against."""
    true_D = jnp.asarray(task.true_weights)

    def level(level_key, level):
        k_j, k_s, k_noise, k_theta = jax.random.split(level_key, 4)
        j_S = level * task.group + jax.random.randint(k_j, (samples,), 0, task.group)
        s_S = jax.random.normal(k_s, (samples,))
        y_S = true_D[j_S] * s_S + task.noise_std * jax.random.normal(k_noise, (samples,))
        theta_S = mean_D[j_S] + jnp.sqrt(variance_D[j_S]) * jax.random.normal(k_theta, (samples,))
        loss_S = _solvable_loss(y_S - theta_S * s_S, task.loss_scale)
        return jnp.mean(loss_S), jnp.std(loss_S) / jnp.sqrt(samples)

    keys_K = jax.random.split(key, task.levels)
    return jax.vmap(level)(keys_K, jnp.arange(task.levels))
