"""The probe: roles of solution tokens, and the command on a tiny experiment."""

import pytest

from pacbound.cli import main
from pacbound.run.probe import solution_role, token_kind
from pacbound.tasks.igsm import _VALUE_BASE, ANSWER, EOS, IGSMChain


def test_solution_roles_follow_the_chain_layout():
    task = IGSMChain(modulus=5, min_level=2, max_level=4)
    example = task.sample(3, 2)
    start = example.problem_length
    roles = [solution_role(i, 2) for i in range(3 * 2 + 3)]
    assert roles[:3] == ["step 1 operation", "step 1 constant", "step 1 value"]
    assert roles[-3:] == ["answer marker", "answer value", "EOS"]
    kinds = [token_kind(int(t)) for t in example.tokens[start : start + 9]]
    assert kinds == ["operation", "value", "value"] * 2 + ["answer marker", "value", "EOS"]
    assert token_kind(EOS) == "EOS" and token_kind(ANSWER) == "answer marker"
    assert token_kind(_VALUE_BASE) == "value"


@pytest.mark.e2e
def test_probe_prints_levels_and_first_errors(tiny, base_cache, capsys):
    argv = ["probe", "--config", str(tiny), "--cache", str(base_cache)]
    assert main([*argv, "--bucket", "hard", "--budget", "5", "--level", "3"]) == 0
    out = capsys.readouterr().out
    assert "| base |" in out and "| fine-tuned |" in out
    assert out.count("the first wrong token of each held-out problem") == 2
    # Every one of the 8 held-out problems is counted once per model.
    counts = [
        int(line.split("|")[3].split()[0])
        for line in out.splitlines()
        if line.startswith("| ") and line.count("|") == 4 and "(" in line
    ]
    assert sum(counts) == 2 * 8


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--bucket", "medium", "--budget", "5", "--level", "3"], "cell ('medium', 5, 0)"),
        (["--bucket", "hard", "--budget", "5", "--level", "9"], "level = 9 is out of range"),
    ],
)
def test_probe_bad_arguments(tiny, tmp_path, capsys, extra, message):
    argv = ["probe", "--config", str(tiny), "--db", str(tmp_path / "r.sqlite"), *extra]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_token_probabilities_are_the_weights_dft_uses():
    """On a random tiny model: one probability per solution token, roles in the chain layout
    row by row, and the mean of −ln p equal to the SFT loss of the same rows (so p is the
    probability the loss reads, which DFT uses as the weight)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from pacbound.model import ModelConfig, init_params
    from pacbound.run.probe import token_probabilities
    from pacbound.tasks.base import mixture_dataset
    from pacbound.train import sequence_loss

    task = IGSMChain(modulus=5, min_level=2, max_level=4)
    model = ModelConfig(vocab_size=task.vocab_size, length=task.length, layers=1, width=8, heads=2)
    params = init_params(jax.random.PRNGKey(0), model)
    data = mixture_dataset(task, 7, {2: 0.5, 3: 0.5}, 4)
    p, role, level = token_probabilities(params, model, data)
    assert len(p) == len(role) == len(level) == int(np.asarray(data.loss_mask).sum())
    assert np.all((p > 0) & (p <= 1))
    expected = np.concatenate([[0, 1, 2] * int(k) + [3, 4, 5] for k in np.asarray(data.levels)])
    assert role.tolist() == expected.tolist()
    sft = sequence_loss(params, jnp.asarray(data.tokens), jnp.asarray(data.loss_mask), model)
    assert float(np.mean(-np.log(p))) == pytest.approx(float(sft), rel=1e-5)
