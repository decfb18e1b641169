"""Presets load into frozen dataclasses; hashes ignore what does not change results."""

import dataclasses

import jax
import numpy as np
import pytest

from pacbound import config
from pacbound.model import apply, init_params


@pytest.mark.parametrize("name", ["quick", "solvable", "paper"])
def test_every_preset_loads_and_is_frozen(name):
    experiment = config.preset(name)
    assert experiment.name == name
    assert len(experiment.cells) >= 3 * 4 * 3  # buckets × budgets × seeds
    with pytest.raises(dataclasses.FrozenInstanceError):
        experiment.name = "other"
    assert config.from_dict(experiment.raw).hash() == experiment.hash()


def test_the_paper_preset_is_the_faithful_task_and_its_model_runs():
    experiment = config.preset("paper")
    assert experiment.task_kind == "igsm" and experiment.task.modulus == 23
    assert experiment.task.max_level == 20
    model = experiment.model
    example = experiment.task.sample(0, 20)
    logits = apply(init_params(jax.random.PRNGKey(0), model), example.tokens[None], model)
    assert logits.shape == (1, model.length, model.vocab_size)
    assert np.all(np.isfinite(np.asarray(logits)))


def test_hash_ignores_name_compare_and_distributed_but_not_the_grid():
    raw = config.preset("quick").raw
    base = config.from_dict(raw).hash()
    renamed = dict(raw, name="other", compare={"sigma": 0.5})
    assert config.from_dict(renamed).hash() == base
    fewer = dict(raw, grid=dict(raw["grid"], seeds=[0, 1]))
    assert config.from_dict(fewer).hash() != base
    reordered = dict(
        raw, grid=dict(raw["grid"], buckets=dict(reversed(raw["grid"]["buckets"].items())))
    )
    assert config.from_dict(reordered).hash() == base
