"""Certificates of trained networks in the sweep: the posterior chosen, the subspace learner,
the prior's independence of the sample, and the certificate every cell stores."""

from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from pacbound import config
from pacbound.model import ModelConfig, init_params
from pacbound.recipe import OptimizerConfig
from pacbound.run.certify import pick_posterior
from pacbound.store import Store, flat_rows
from pacbound.tasks.base import (
    cell_seed,
    finetuning_half,
    held_out_sets,
    mixture_dataset,
    mixture_sample,
    pretraining_half,
)
from pacbound.tasks.igsm import IGSMChain
from pacbound.train import (
    language_data,
    language_trainer,
    make_subspace_trainer,
    minibatch_loss,
    pretraining_chunks,
)


def test_the_posterior_chosen_is_the_lowest_forecast():
    floors = {("isotropic", 0.1): 0.2, ("magnitude", 0.1): 0.1}
    assert pick_posterior(floors, {("isotropic", 0.1): 0.3, ("magnitude", 0.1): 0.4}) == (
        "isotropic",
        0.1,
    )
    # A tie goes to the smaller floor (less KL).
    assert pick_posterior(floors, dict.fromkeys(floors, 0.3)) == ("magnitude", 0.1)


TASK = IGSMChain(modulus=5, max_level=4, min_level=2)
MODEL = ModelConfig(vocab_size=TASK.vocab_size, length=TASK.length, layers=1, width=8, heads=2)


def test_subspace_fine_tuning_with_the_identity_projection_is_full_fine_tuning():
    optimizer = OptimizerConfig(steps=5, batch=4, learning_rate=1e-2, warmup_steps=1)
    optimizer = OptimizerConfig(**{**optimizer.__dict__, "weight_decay": 0.0})
    base = init_params(jax.random.PRNGKey(0), MODEL)
    flat, unravel = ravel_pytree(base)
    datasets = [mixture_dataset(TASK, i, {3: 1}, n) for i, n in enumerate((3, 6))]
    data = language_data(datasets, 6)
    keys = jnp.stack([jax.random.PRNGKey(i) for i in range(2)])
    budgets = np.array([3, 6], np.int32)
    full, full_losses = language_trainer(MODEL, optimizer)(base, keys, data, budgets)
    train = make_subspace_trainer(minibatch_loss(MODEL, optimizer.batch), optimizer, unravel)
    w, losses = train(flat, jnp.eye(flat.shape[0]), keys, data, budgets)
    full_flat = jax.vmap(lambda p: ravel_pytree(p)[0])(full)
    np.testing.assert_allclose(np.asarray(flat + w), np.asarray(full_flat), atol=1e-6)
    np.testing.assert_allclose(np.asarray(losses), np.asarray(full_losses), rtol=1e-5)
    assert float(jnp.abs(w).max()) > 1e-3  # it did train


def test_a_disjoint_base_never_sees_a_fine_tuning_test_or_validity_problem():
    quick = config.preset("quick")
    assert quick.pretrain.disjoint
    task = quick.task
    chunks = pretraining_chunks(task, quick.pretrain)
    pretraining = {e.problem_hash() for _ in range(2) for e in next(chunks)}
    assert all(pretraining_half(h) for h in pretraining)
    tests = held_out_sets(task, 10_007, 16, finetuning_half)
    exclude = frozenset(h for d in tests.values() for h in d.hashes)
    seen = set(exclude)
    for bucket in quick.grid.buckets:
        cell = (bucket.name, 256, 0)
        sample = mixture_dataset(
            task, cell_seed(*cell), bucket.weights(), 256, exclude, finetuning_half
        )
        seen |= set(sample.hashes)
        seen |= set(mixture_sample(task, 1, bucket.weights(), 64, finetuning_half).hashes)
    assert seen and not seen & pretraining
    # Without the split the two streams do meet, by chance: the easy levels hold few problems.
    mixed = pretraining_chunks(task, replace(quick.pretrain, disjoint=False))
    unsplit = {e.problem_hash() for _ in range(2) for e in next(mixed)}
    easy = quick.grid.buckets[0]
    sample = mixture_dataset(task, cell_seed(easy.name, 256, 0), easy.weights(), 256)
    assert set(sample.hashes) & unsplit


def test_every_cell_stores_a_well_formed_certificate(certified_store, tiny_certify):
    """Structure of every stored certificate: its choices, δ, draws, the chosen candidate
    among the listed ones, and the measured risks. That the value is the kl bound of its
    parts is checked against an independent oracle in ``test_certifier_oracle``."""
    db, _ = certified_store
    with Store(db) as store:
        for experiment in config.load_all(tiny_certify):
            c = experiment.certify
            choices = len(c.sigmas) * (1 if experiment.finetune.subspace else 2)
            cells = store.cells(experiment.name)
            assert len(cells) == len(experiment.cells)
            for cell in cells:
                record = cell.record["certificate"]
                assert record["choices"] == choices and record["sigma"] in c.sigmas
                assert record["family"] in c.families_for(experiment.finetune.subspace)
                assert record["delta"] == pytest.approx(c.cell_delta(len(experiment.cells)))
                assert record["draws"] == c.draws
                wrong = record["mc_risk"] * c.draws  # a share of the draws
                assert wrong == pytest.approx(round(wrong)) and 0 <= wrong <= c.draws
                assert len(record["candidates"]) == choices
                chosen = [
                    k
                    for k in record["candidates"]
                    if (k["family"], k["sigma"]) == (record["family"], record["sigma"])
                ]
                assert len(chosen) == 1 and chosen[0]["kl"] == record["kl"] >= 0
                assert record["floor"] <= record["certificate"] <= 1
                for part in ("in_distribution", "target"):
                    measured = record[part]
                    assert measured["low"] <= measured["risk"] <= measured["high"]
                    assert measured["draws"] == c.validity_draws
                assert record["target"]["test_bound"] >= record["target"]["risk"]
                # Disagreement at the label-free leading positions is a part of disagreement
                # anywhere, so never larger.
                split = record["disagreement"]
                assert split["pairs"] == c.validity_draws and split["near_sigma"] == min(c.sigmas)
                for which in ("certified", "near"):
                    part = split[which]
                    assert 0 <= part["label_free"] <= part["teacher_forced"] <= 1


def test_the_export_flattens_every_certificate_field(certified_store):
    db, _ = certified_store
    with Store(db) as store:
        rows = flat_rows(store.cells("tinycert-k8"))
    row = rows[0]
    assert 0 < row["certificate_certificate"] <= 1
    assert row["certificate_in_distribution_draws"] == 8
    assert isinstance(row["certificate_candidates"], str)  # a list, as JSON
    assert not any(isinstance(v, dict | list) for v in row.values())
