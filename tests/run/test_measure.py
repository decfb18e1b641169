"""One teacher-forced pass gives the same 0-1 loss as real greedy decoding."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pacbound.run.measure import (
    _solvable_loss,
    greedy_solution_correct,
    prediction_disagreement,
    teacher_forced_correct,
)
from pacbound.symbolic import solvable as S
from pacbound.tasks.igsm import IGSMLite

TASK = IGSMLite(modulus=5, names=12, max_level=3)


def _batch(count=8):
    examples = [TASK.sample(seed, 1 + seed % 3) for seed in range(count)]
    tokens = jnp.asarray(np.stack([e.tokens for e in examples]))
    mask = jnp.asarray(np.stack([e.loss_mask for e in examples]))
    return tokens, mask


def _increment_model(tokens, steps, vocab):
    """A causal model that reads its input: it predicts token t + 1 as token t + steps[t].

    With steps taken from the true sequences it is right on the true prefix, and an error
    it makes propagates through its own outputs, as a real model's does."""

    def logits_fn(inputs_BxL):
        return jax.nn.one_hot((inputs_BxL + steps) % vocab, vocab) * 10.0

    return logits_fn


def test_both_agree_on_a_model_that_reads_its_input():
    tokens, mask = _batch()
    vocab = TASK.vocab_size
    steps = (jnp.roll(tokens, -1, axis=1) - tokens) % vocab
    perfect = _increment_model(tokens, steps, vocab)
    assert bool(teacher_forced_correct(perfect, tokens, mask).all())
    assert bool(greedy_solution_correct(perfect, tokens, mask).all())
    # One wrong step inside the solution of example 0, one in the problem of example 1.
    in_solution = int(np.flatnonzero(np.asarray(mask[0]))[3])
    in_problem = 2
    broken = steps.at[0, in_solution].add(1).at[1, in_problem].add(1)
    model = _increment_model(tokens, broken, vocab)
    forced = np.asarray(teacher_forced_correct(model, tokens, mask))
    greedy = np.asarray(greedy_solution_correct(model, tokens, mask))
    assert not forced[0] and not greedy[0]
    assert forced[1] and greedy[1]  # a problem token is given, never predicted
    np.testing.assert_array_equal(forced, greedy)


def test_both_agree_on_a_known_mix_of_right_and_wrong_examples():
    # 16 examples of levels 1–3. By index mod 4: right; wrong at the first solution step;
    # wrong at the last one (the EOS); an error in the problem only, which is given and never
    # predicted, so right. Teacher forcing and greedy decoding must both find this pattern.
    tokens, mask = _batch(16)
    vocab = TASK.vocab_size
    steps = (jnp.roll(tokens, -1, axis=1) - tokens) % vocab
    for i in range(16):
        solution = np.flatnonzero(np.asarray(mask[i]))
        where = {1: solution[0], 2: solution[-1], 3: 1}.get(i % 4)
        if where is not None:
            steps = steps.at[i, where].add(1)
    model = _increment_model(tokens, steps, vocab)
    expected = [i % 4 in (0, 3) for i in range(16)]
    assert np.asarray(teacher_forced_correct(model, tokens, mask)).tolist() == expected
    assert np.asarray(greedy_solution_correct(model, tokens, mask)).tolist() == expected


def test_disagreement_is_found_at_the_positions_where_the_argmax_differs():
    # Two sequences of 6 positions, the mask on positions 1–4. The models' argmax differs at
    # position 4 in the first sequence (the 4th masked position), at position 1 in the
    # second (the 1st), and at position 0 in both (unmasked: ignored).
    argmax_a = np.array([[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]])
    argmax_b = np.array([[9, 1, 2, 3, 7, 5], [9, 8, 2, 3, 4, 5]])
    logits_a, logits_b = (jax.nn.one_hot(a, 10) for a in (argmax_a, argmax_b))
    mask = jnp.array([[0, 1, 1, 1, 1, 0], [0, 1, 1, 1, 1, 0]], jnp.float32)
    anywhere, first_three = prediction_disagreement(logits_a, logits_b, mask, 3)
    assert anywhere.tolist() == [True, True]
    assert first_three.tolist() == [False, True]
    _, none = prediction_disagreement(logits_a, logits_b, mask, 0)
    assert none.tolist() == [False, False]


@given(st.floats(-3.0, 3.0), st.floats(0.1, 2.0))
def test_the_solvable_loss_equals_sympy(residual, scale):
    """The solvable task's lowered loss against sympy's evalf."""
    point = {S.residual: residual, S.loss_scale: scale}
    loss = float(S.loss.subs(point).evalf(30))
    assert math.isclose(float(_solvable_loss(residual, scale)), loss, rel_tol=1e-12, abs_tol=1e-15)
