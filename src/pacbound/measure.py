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

LogitsFn = Callable[[jax.Array], jax.Array]


def teacher_forced_correct(logits_fn: LogitsFn, tokens_BxL, loss_mask_BxL) -> jax.Array:
    """correct_B: True where the argmax equals the next token at every masked position."""
    predictions_BxL = jnp.argmax(logits_fn(tokens_BxL), axis=-1)
    targets_BxL = jnp.roll(tokens_BxL, -1, axis=1)
    wrong_BxL = (predictions_BxL != targets_BxL) & (loss_mask_BxL > 0)
    return ~wrong_BxL.any(axis=1)


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
        next_B = jnp.argmax(logits_fn(generated_BxL)[:, t], axis=-1)
        write_B = predict_BxL[:, t]
        current_B = generated_BxL[:, (t + 1) % length]
        return generated_BxL.at[:, (t + 1) % length].set(jnp.where(write_B, next_B, current_B))

    # Solution tokens are blanked first, so nothing of the answer leaks into the prefix.
    blank_BxL = jnp.where(jnp.roll(predict_BxL, 1, axis=1), 0, tokens_BxL)
    generated_BxL = jax.lax.fori_loop(0, length - 1, step, blank_BxL)
    produced_BxL = jnp.roll(generated_BxL, -1, axis=1)
    return ~((produced_BxL != targets_BxL) & predict_BxL).any(axis=1)
