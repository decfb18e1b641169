"""The training engine: one compile per grid, budgets masked, sharding, determinism, cache,
and the solvable task's JAX path against its closed form."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pacbound.model import ModelConfig
from pacbound.recipe import OptimizerConfig, PretrainConfig
from pacbound.run.measure import make_error_counter, solvable_level_risks_mc, squared_distance
from pacbound.tasks.base import mixture_dataset
from pacbound.tasks.igsm import IGSMChain
from pacbound.tasks.solvable import SolvableLinear
from pacbound.train import (
    finetune,
    learning_rate,
    make_ensemble_trainer,
    make_run,
    member_strategy,
    minibatch_loss,
    pad_rows,
    pretrain,
    solvable_map_loss,
    solvable_posterior_variance,
    warmup_for,
)

TASK = IGSMChain(modulus=5, max_level=4, min_level=2)
MODEL = ModelConfig(vocab_size=TASK.vocab_size, length=TASK.length, layers=1, width=16, heads=2)
# The pretraining optimizer of tests/data/tiny.toml: its store's pretraining program serves here.
OPTIMIZER = OptimizerConfig(steps=6, batch=4, learning_rate=1e-2, warmup_steps=1)


def _datasets(budgets, seed=0):
    return [mixture_dataset(TASK, seed + i, {3: 1}, n) for i, n in enumerate(budgets)]


def _budgets(ns):
    return np.array(ns, np.int32)  # as the sweep passes them: one program per shape


def _padded(datasets, rows):
    return {
        "tokens": pad_rows([d.tokens for d in datasets], rows),
        "loss_mask": pad_rows([d.loss_mask for d in datasets], rows),
    }


@pytest.fixture(scope="module")
def base():
    config = PretrainConfig(levels=(2, 3), optimizer=OPTIMIZER, chunk=3)
    params, _ = pretrain(TASK, MODEL, config)
    return params


def test_a_grid_of_one_shape_compiles_once(base):
    trainer = make_ensemble_trainer(minibatch_loss(MODEL, OPTIMIZER.batch), OPTIMIZER)
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    for budgets in ([2, 5, 9], [9, 3, 1], [4, 4, 4]):
        data = _padded(_datasets(budgets, seed=sum(budgets)), rows=9)
        params, losses = trainer(base, keys, data, _budgets(budgets))
        assert losses.shape == (3, OPTIMIZER.steps)
        assert np.all(np.isfinite(losses))
    assert trainer.compiled._cache_size() == 1


@pytest.mark.slow  # three programs compiled (in sequence, batched, one run alone): ~16 s
def test_members_in_sequence_are_each_their_own_run_and_agree_with_batched_members(base):
    """Under "map" each member's parameters and losses are, bit for bit, those of its run
    compiled alone; batched ("vmap") members differ from them by float rounding only."""
    keys = jax.random.split(jax.random.PRNGKey(5), 3)
    budgets = [3, 9, 16]  # 2, 5 and 8 steps under the epochs policy
    data = _padded(_datasets(budgets, seed=5), rows=16)
    loss = minibatch_loss(MODEL, EPOCHS.batch)
    in_sequence = make_ensemble_trainer(loss, EPOCHS, members="map")
    params, losses = in_sequence(base, keys, data, _budgets(budgets))
    batched, batched_losses = make_ensemble_trainer(loss, EPOCHS, members="vmap")(
        base, keys, data, _budgets(budgets)
    )
    run = jax.jit(make_run(loss, EPOCHS))
    for m, n in enumerate(budgets):
        alone, alone_losses = run(
            base, keys[m], {k: v[m] for k, v in data.items()}, n, EPOCHS.steps_for(n)
        )
        np.testing.assert_array_equal(losses[m], alone_losses)
        for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(alone), strict=True):
            np.testing.assert_array_equal(a[m], b)
    np.testing.assert_allclose(batched_losses, losses, rtol=1e-4, atol=1e-5)
    for a, b in zip(jax.tree.leaves(batched), jax.tree.leaves(params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert in_sequence.compiled._cache_size() == 1


def test_the_member_strategy_is_chosen_by_platform_and_checked():
    assert member_strategy("cpu") == "map"
    assert member_strategy("gpu") == member_strategy("tpu") == "vmap"
    with pytest.raises(ValueError, match=r"^members = 'loop' is not one of vmap, map$"):
        make_ensemble_trainer(minibatch_loss(MODEL, OPTIMIZER.batch), OPTIMIZER, members="loop")


def test_rows_beyond_the_budget_are_never_read(base):
    trainer = make_ensemble_trainer(minibatch_loss(MODEL, OPTIMIZER.batch), OPTIMIZER)
    # The shapes of the one-shape grid above (three members, nine rows): one program.
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    data = _padded(_datasets([3, 3, 3]), rows=9)
    garbage = {k: v.copy() for k, v in data.items()}
    garbage["tokens"][:, 3:] = np.random.default_rng(0).integers(
        0, TASK.vocab_size, (3, 6, TASK.length)
    )
    garbage["loss_mask"][:, 3:] = 1.0
    clean, _ = trainer(base, keys, data, _budgets([3, 3, 3]))
    dirty, _ = trainer(base, keys, garbage, _budgets([3, 3, 3]))
    for a, b in zip(jax.tree.leaves(clean), jax.tree.leaves(dirty), strict=True):
        np.testing.assert_array_equal(a, b)
    # And a larger budget on the same rows does read them.
    more, _ = trainer(base, keys, garbage, _budgets([9, 9, 9]))
    assert not np.array_equal(jax.tree.leaves(more)[0], jax.tree.leaves(clean)[0])


EPOCHS = OptimizerConfig(
    steps=8,
    batch=4,
    learning_rate=1e-2,
    schedule="epochs",
    epochs=2,
    min_steps=2,
    warmup_fraction=0.5,
)


def test_the_epochs_policy_gives_steps_by_budget():
    # ceil(epochs · n / batch), floored at min_steps and capped at steps.
    assert EPOCHS.steps_for(np.array([1, 3, 9, 16, 100])).tolist() == [2, 2, 5, 8, 8]
    quick = OptimizerConfig(steps=400, batch=16, schedule="epochs", epochs=10, min_steps=10)
    assert quick.steps_for(np.array([4, 16, 64, 256, 1024])).tolist() == [10, 10, 40, 160, 400]
    assert OPTIMIZER.steps_for(np.array([1, 100])).tolist() == [6, 6]  # fixed
    assert EPOCHS.steps_for(9) == 5


def test_a_run_takes_exactly_its_own_steps_in_one_program(base):
    trainer = make_ensemble_trainer(minibatch_loss(MODEL, EPOCHS.batch), EPOCHS)
    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    budgets = [3, 9, 16]  # 2, 5 and 8 steps
    data = _padded(_datasets(budgets), rows=16)
    params, losses = trainer(base, keys, data, _budgets(budgets))
    for m, steps in enumerate([2, 5, 8]):
        assert np.all(np.isfinite(losses[m, :steps])) and np.all(np.isnan(losses[m, steps:]))
    # Member 0 equals a run that is only ever 2 steps long (fixed policy, same warm-up),
    # in a batch of the same shape: the frozen steps of a short member apply nothing.
    short = OptimizerConfig(steps=2, batch=4, learning_rate=1e-2, warmup_steps=1)
    alone, alone_losses = make_ensemble_trainer(minibatch_loss(MODEL, 4), short)(
        base, keys, data, _budgets(budgets)
    )
    np.testing.assert_array_equal(alone_losses[0], losses[0, :2])
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(alone), strict=True):
        np.testing.assert_array_equal(a[0], b[0])
    # Other step counts reuse the same compiled program.
    for other in ([1, 1, 1], [16, 12, 4]):
        trainer(base, keys, _padded(_datasets(other), rows=16), _budgets(other))
    assert trainer.compiled._cache_size() == 1


def test_the_learning_rate_schedule_matches_optax():
    import optax

    for config, total in ((OPTIMIZER, 6), (EPOCHS, 5)):
        warmup = int(warmup_for(config, total))
        reference = optax.warmup_cosine_decay_schedule(
            0.0, config.learning_rate, warmup, total, 0.1 * config.learning_rate
        )
        for t in range(total):
            assert float(learning_rate(config, t, total)) == pytest.approx(
                float(reference(t)), rel=1e-6
            )


def test_same_config_and_seed_give_bitwise_identical_metrics(base):
    counter = make_error_counter(MODEL, chunk=4)
    test = _datasets([8], seed=50)[0]
    results = []
    for _ in range(2):
        keys = jax.random.split(jax.random.PRNGKey(2), 3)  # the one-shape grid's shapes
        params, losses = finetune(base, _datasets([4, 6, 9]), keys, MODEL, OPTIMIZER)
        member = jax.tree.map(lambda x: x[1], params)
        wrong = counter(member, test.tokens, test.loss_mask)
        results.append(
            (np.asarray(losses), np.asarray(wrong), float(squared_distance(member, base)))
        )
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert results[0][2] == results[1][2] > 0


def test_pretrained_base_is_cached_by_config(tmp_path):
    config = PretrainConfig(levels=(2, 3), optimizer=OPTIMIZER, chunk=3)
    calls = []
    first, _ = pretrain(
        TASK, MODEL, config, cache_dir=tmp_path, progress=lambda *a: calls.append(a)
    )
    assert len(calls) == 2 and len(list(tmp_path.glob("base-*.npz"))) == 1
    again, _ = pretrain(
        TASK, MODEL, config, cache_dir=tmp_path, progress=lambda *a: calls.append(a)
    )
    assert len(calls) == 2  # loaded, not retrained
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(again), strict=True):
        np.testing.assert_array_equal(a, b)
    other = PretrainConfig(levels=(2, 4), optimizer=OPTIMIZER, chunk=3)
    pretrain(TASK, MODEL, other, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("base-*.npz"))) == 2
    # Other held-out sets change the pretraining data: never the same cached base.
    excluded = frozenset({TASK.sample(0, 2).problem_hash()})
    pretrain(TASK, MODEL, config, exclude=excluded, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("base-*.npz"))) == 3


def test_bad_configs_name_the_argument():
    with pytest.raises(ValueError, match="steps"):
        OptimizerConfig(steps=0)
    with pytest.raises(ValueError, match="warmup_steps"):
        OptimizerConfig(steps=5, warmup_steps=6)
    with pytest.raises(ValueError, match="schedule = 'weekly' is not one of fixed, epochs"):
        OptimizerConfig(steps=5, warmup_steps=0, schedule="weekly")
    with pytest.raises(ValueError, match="epochs = 0"):
        OptimizerConfig(steps=5, warmup_steps=0, schedule="epochs")
    with pytest.raises(ValueError, match="min_steps = 9 is out of range"):
        OptimizerConfig(steps=5, warmup_steps=0, schedule="epochs", epochs=1, min_steps=9)
    with pytest.raises(ValueError, match="warmup_fraction = 1.5"):
        OptimizerConfig(steps=5, warmup_fraction=1.5, warmup_steps=0)
    with pytest.raises(ValueError, match="chunk"):
        PretrainConfig(levels=(2, 3), optimizer=OPTIMIZER, chunk=4)
    with pytest.raises(ValueError, match="pretrain levels"):
        pretrain(TASK, MODEL, PretrainConfig(levels=(2, 9), optimizer=OPTIMIZER, chunk=3))


SHARDED = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    sys.path.insert(0, {tests!r})
    import test_train as t
    config = t.PretrainConfig(levels=(2, 3), optimizer=t.OPTIMIZER, chunk=3)
    base, _ = t.pretrain(t.TASK, t.MODEL, config)
    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    params, losses = t.finetune(base, t._datasets([2, 5, 7]), keys, t.MODEL, t.OPTIMIZER)
    print(json.dumps({{"devices": jax.local_device_count(),
                      "losses": np.asarray(losses).tolist(),
                      "embed": np.asarray(params["embed_VxD"]).ravel().tolist()}}))
    """
)


@pytest.mark.slow  # two subprocesses
def test_sharding_over_four_devices_gives_the_same_numbers_as_one():
    script = SHARDED.format(tests=os.path.dirname(__file__))
    runs = {}
    for count in (1, 4):
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={count}")
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        runs[count] = json.loads(out.stdout.strip().splitlines()[-1])
    assert runs[1]["devices"] == 1 and runs[4]["devices"] == 4
    np.testing.assert_allclose(runs[4]["losses"], runs[1]["losses"], rtol=1e-6, atol=0)
    np.testing.assert_allclose(runs[4]["embed"], runs[1]["embed"], rtol=1e-5, atol=1e-7)


def test_solvable_training_path_agrees_with_the_closed_form():
    task = SolvableLinear(levels=4, group=3)
    rng = np.random.default_rng(0)
    budgets, rows = [30, 300], 300
    samples = [task.sample(rng, 3, n) for n in budgets]
    data = {
        key: pad_rows(
            [
                np.asarray(sample[i], dtype=np.float64 if key != "j" else np.int32)
                for sample in samples
            ],
            rows,
        )
        for i, key in enumerate(("j", "s", "y"))
    }
    optimizer = OptimizerConfig(
        steps=4000, batch=1, learning_rate=0.05, warmup_steps=0, weight_decay=0.0, clip_norm=0.0
    )
    trainer = make_ensemble_trainer(solvable_map_loss(task), optimizer)
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    prior = jnp.asarray(task.pretrained_weights)
    means, _ = trainer(prior, keys, data, _budgets(budgets))
    for m, (j, s, y) in enumerate(samples):
        exact_mean, exact_variance = task.posterior(j, s, y)
        member = {key: jnp.asarray(value[m]) for key, value in data.items()}
        variance = solvable_posterior_variance(task, means[m], member, budgets[m])
        np.testing.assert_allclose(means[m], exact_mean, atol=1e-6)
        np.testing.assert_allclose(variance, exact_variance, rtol=1e-10)
        risks, errors = solvable_level_risks_mc(
            task, means[m], variance, jax.random.PRNGKey(m), samples=200_000
        )
        exact = task.level_risks(exact_mean, exact_variance)
        assert np.all(np.abs(np.asarray(risks) - exact) <= 4 * np.asarray(errors) + 1e-6)
        # Simulation noise, not a bias: the standard errors are small but not zero.
        assert np.all(np.asarray(errors) > 0) and np.all(np.asarray(errors) < 3e-3)


def test_training_in_calls_for_progress_changes_no_number(base, monkeypatch):
    """With a progress callback the ensemble runs PROGRESS_STEPS steps per call; every
    parameter and loss is bit for bit the one-call run's, the fractions reach 1, and every
    call runs the one program the one-call run compiled."""
    from pacbound import train

    trainer = make_ensemble_trainer(minibatch_loss(MODEL, OPTIMIZER.batch), OPTIMIZER)
    keys = jax.random.split(jax.random.PRNGKey(4), 3)
    budgets = [2, 5, 9]
    data = _padded(_datasets(budgets, seed=4), rows=9)
    whole, whole_losses = trainer(base, keys, data, _budgets(budgets))
    monkeypatch.setattr(train, "PROGRESS_STEPS", 4)
    fractions = []
    cut, cut_losses = trainer(base, keys, data, _budgets(budgets), fractions.append)
    assert fractions == [4 / 6, 1.0]  # the longest member takes 6 steps
    np.testing.assert_array_equal(cut_losses, whole_losses)
    for a, b in zip(jax.tree.leaves(cut), jax.tree.leaves(whole), strict=True):
        np.testing.assert_array_equal(a, b)
    assert trainer.compiled._cache_size() == 1


def test_dft_weights_each_token_by_its_own_probability_and_does_not_differentiate_it():
    """By hand from the model's logits: SFT is the mean of −ln p over the solution tokens,
    DFT the mean of p·(−ln p). Its gradient along a direction v equals the finite difference
    of Σ p₀·(−ln p(θ)) with the weights p₀ frozen at θ, not that of Σ p·(−ln p)."""
    from pacbound.model import apply, init_params
    from pacbound.train import sequence_loss

    params = jax.jit(init_params, static_argnums=1)(jax.random.PRNGKey(3), MODEL)
    data = _datasets([4], seed=11)[0]
    tokens, mask = jnp.asarray(data.tokens), jnp.asarray(data.loss_mask, jnp.float32)

    logits_of = jax.jit(lambda p: apply(p, tokens, MODEL))  # one program for three calls

    def token_nll(p):
        logits = np.array(logits_of(p), np.float64)
        targets = np.roll(np.asarray(tokens), -1, axis=1)
        logits -= logits.max(-1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        return -np.take_along_axis(log_p, targets[..., None], -1)[..., 0]

    m = np.asarray(mask, np.float64)
    nll = token_nll(params)
    frozen = np.exp(-nll)
    loss = jax.jit(sequence_loss, static_argnums=(3, 4))
    assert float(loss(params, tokens, mask, MODEL, "sft")) == pytest.approx(
        (nll * m).sum() / m.sum(), rel=1e-5
    )
    assert float(loss(params, tokens, mask, MODEL, "dft")) == pytest.approx(
        (frozen * nll * m).sum() / m.sum(), rel=1e-5
    )
    rng = np.random.default_rng(0)
    direction = jax.tree.map(lambda a: rng.standard_normal(a.shape).astype(a.dtype), params)
    norm = np.sqrt(sum(float(np.sum(v * v)) for v in jax.tree.leaves(direction)))
    direction = jax.tree.map(lambda v: v / norm, direction)  # a unit direction
    grad = jax.jit(jax.grad(loss), static_argnums=(3, 4))(params, tokens, mask, MODEL, "dft")
    leaves = zip(jax.tree.leaves(grad), jax.tree.leaves(direction), strict=True)
    along = sum(float(np.sum(np.asarray(g) * v)) for g, v in leaves)
    step = 1e-2  # along a unit direction: small against the weights, large against float32

    def moved(sign):
        return jax.tree.map(lambda a, v: a + sign * step * v, params, direction)

    def finite(weights_at):
        up, down = token_nll(moved(1)), token_nll(moved(-1))
        w_up, w_down = weights_at(up), weights_at(down)
        return ((w_up * up - w_down * down) * m).sum() / m.sum() / (2 * step)

    frozen_fd = finite(lambda _: frozen)
    live_fd = finite(lambda value: np.exp(-value))
    assert along == pytest.approx(frozen_fd, rel=2e-2, abs=1e-4)
    assert abs(live_fd - frozen_fd) > 10 * abs(along - frozen_fd) + 1e-4


def test_objective_is_checked_and_the_default_keeps_every_hash():
    with pytest.raises(ValueError, match=r"^objective = 'ce' is not one of sft, dft$"):
        OptimizerConfig(steps=4, objective="ce")
