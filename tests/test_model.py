"""The tiny transformer: shapes, causality, position encodings, jit and vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pacbound.model import ModelConfig, apply, init_params, parameter_count

CONFIG = ModelConfig(vocab_size=31, length=24, layers=2, width=32, heads=4)
# Compiled as the engine runs them: one program per config and shape, not one per operation.
init_compiled = jax.jit(init_params, static_argnums=1)
apply_compiled = jax.jit(apply, static_argnums=2)


@pytest.mark.parametrize("position", ["rope", "learned", "none"])
def test_shapes_and_causality(position):
    config = ModelConfig(**{**CONFIG.__dict__, "position": position})
    params = init_compiled(jax.random.key(0), config)
    tokens = jax.random.randint(jax.random.key(1), (3, config.length), 0, config.vocab_size)
    logits = apply_compiled(params, tokens, config)
    assert logits.shape == (3, config.length, config.vocab_size)
    assert logits.dtype == jnp.float32 and bool(jnp.isfinite(logits).all())
    # Changing a token at position t changes no prediction before t.
    t = 10
    changed = tokens.at[:, t].set((tokens[:, t] + 1) % config.vocab_size)
    after = apply_compiled(params, changed, config)
    np.testing.assert_allclose(after[:, :t], logits[:, :t], rtol=1e-5, atol=1e-5)
    assert not np.allclose(after[:, t:], logits[:, t:])


def test_rope_sees_order_without_learned_positions():
    params = init_compiled(jax.random.key(0), CONFIG)
    tokens = jnp.array([[3, 4, 5, 6, 7, 8] * 4] * 3)  # three rows: the causality test's shape
    swapped = tokens.at[0, 1].set(5).at[0, 2].set(4)
    # Last position: same multiset of earlier tokens, different order.
    last = apply_compiled(params, tokens, CONFIG)[0, -1]
    assert not np.allclose(last, apply_compiled(params, swapped, CONFIG)[0, -1])


def test_jit_and_vmap_over_an_ensemble_agree():
    """Members initialised and applied as one vmapped program agree with each member
    initialised and applied alone (each alone compiled once, not run op by op)."""
    keys = jax.random.split(jax.random.key(2), 4)

    def init_one(key):  # each member alone: the causality test's program
        return init_compiled(key, CONFIG)

    ensemble = jax.jit(jax.vmap(init_one))(keys)
    tokens = jax.random.randint(jax.random.key(3), (3, CONFIG.length), 0, CONFIG.vocab_size)

    def apply_one(params):
        return apply_compiled(params, tokens, CONFIG)

    batched = jax.jit(jax.vmap(apply_one))(ensemble)
    for i, key in enumerate(keys):
        alone = init_one(key)
        for a, b in zip(jax.tree.leaves(alone), jax.tree.leaves(ensemble), strict=True):
            np.testing.assert_allclose(b[i], a, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(batched[i], apply_one(alone), rtol=1e-5, atol=1e-5)
    assert parameter_count(init_one(keys[0])) > 0


def test_bad_configurations():
    with pytest.raises(ValueError, match="position = 'alibi'"):
        ModelConfig(vocab_size=10, length=8, position="alibi")
    with pytest.raises(ValueError, match="width = 30 is not a multiple of heads = 4"):
        ModelConfig(vocab_size=10, length=8, width=30)
    with pytest.raises(ValueError, match="layers = 0 is out of range"):
        ModelConfig(vocab_size=10, length=8, layers=0)
