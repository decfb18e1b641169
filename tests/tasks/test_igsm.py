"""iGSM-lite and the shared task machinery: exact op counts, determinism, disjoint test sets."""

from fractions import Fraction

import numpy as np
import pytest

from pacbound.tasks.base import (
    allocate,
    allocation_distance,
    exact_weights,
    held_out_sets,
    mixture_dataset,
)
from pacbound.tasks.igsm import ANSWER, EOS, PAD, IGSMChain, IGSMLite

TASK = IGSMLite(modulus=5, names=20, max_level=6, distractors=2)


@pytest.mark.parametrize("level", TASK.levels)
def test_every_problem_needs_exactly_its_level_of_operations(level):
    for seed in range(60):
        example = TASK.sample(seed, level)
        assert example.level == level
        answer, operations = TASK.solve(example.tokens)
        assert operations == level
        tokens = list(example.tokens)
        end = tokens.index(EOS)
        assert tokens[end - 2] == ANSWER and tokens[end - 1] == TASK.value_token(answer)
        assert all(t == PAD for t in tokens[end + 1 :])


def test_loss_mask_covers_exactly_the_solution():
    example = TASK.sample(3, 4)
    mask = example.loss_mask.astype(bool)
    first = int(np.flatnonzero(mask)[0])
    assert first == example.problem_length - 1  # predicts the first solution token
    last_target = int(np.flatnonzero(mask)[-1]) + 1
    assert example.tokens[last_target] == EOS


def test_sampling_is_deterministic_and_varies_with_the_seed():
    a, b = TASK.sample(11, 5), TASK.sample(11, 5)
    assert np.array_equal(a.tokens, b.tokens)
    assert not np.array_equal(a.tokens, TASK.sample(12, 5).tokens)


def test_weights_are_exact_and_counts_follow_them():
    weights = exact_weights({1: "1/3", 2: "1/3", 3: Fraction(1, 3)}, TASK.levels)
    assert sum(weights.values()) == 1
    assert allocate(weights, 10) == {1: 4, 2: 3, 3: 3}
    # With a seed, the tied remainder goes to a level drawn from the seed.
    uniform = {1: Fraction(1, 3), 2: Fraction(1, 3), 3: Fraction(1, 3)}
    chosen = {max(allocate(uniform, 1, seed).items(), key=lambda i: i[1])[0] for seed in range(30)}
    assert chosen == {1, 2, 3}
    assert all(sum(allocate(uniform, 4, seed).values()) == 4 for seed in range(10))
    # By hand: every remainder of a uniform bucket is equal, so the tie decides. A seed's tie
    # order is the permutation drawn from default_rng([seed, 3]), lowest rank first: at n = 4
    # (floors 1) the lowest-ranked level gets the one count left, at n = 5 the two lowest.
    for seed in range(10):
        rank = dict(zip((1, 2, 3), np.random.default_rng([seed, 3]).permutation(3), strict=True))
        for n, left in ((4, 1), (5, 2)):
            hand = {level: 1 + int(rank[level] < left) for level in (1, 2, 3)}
            assert allocate(uniform, n, seed) == hand, (seed, n)
    with pytest.raises(ValueError, match="sum to 9/10"):
        exact_weights({1: 0.5, 2: 0.4}, TASK.levels)
    with pytest.raises(ValueError, match="level 9 is not a level"):
        exact_weights({9: 1}, TASK.levels)


def test_allocation_distance_is_the_tv_of_the_allocated_proportions():
    """By hand: a uniform bucket of three levels at n = 1 puts all mass on one level (TV
    2/3), at n = 2 on two (1/3), at n = 3 on all three (0); two levels at n = 3: (2, 1)."""
    three = {1: Fraction(1, 3), 2: Fraction(1, 3), 3: Fraction(1, 3)}
    two = {1: Fraction(1, 2), 2: Fraction(1, 2)}
    for seed in (None, 0, 5):
        assert allocation_distance(three, 1, seed) == pytest.approx(2 / 3)
        assert allocation_distance(three, 2, seed) == pytest.approx(1 / 3)
        assert allocation_distance(three, 3, seed) == 0
        assert allocation_distance(two, 3, seed) == pytest.approx(1 / 6)
    # n = 512: (171, 171, 170) against 512/3 each, ½·(1 + 1 + 2)/1536.
    assert allocation_distance(three, 512) == pytest.approx(1 / 768)


def test_training_sets_are_disjoint_from_test_sets_and_reproducible():
    tests = held_out_sets(TASK, seed=0, size=40)
    held_out = {h for d in tests.values() for h in d.hashes}
    assert all(len(set(d.hashes)) == 40 for d in tests.values())
    train = mixture_dataset(TASK, seed=1, weights={1: 0.5, 2: 0.5}, n=200, exclude=held_out)
    assert len(train) == 200 and not set(train.hashes) & held_out
    assert sorted(np.bincount(train.levels)[1:3]) == [100, 100]
    again = mixture_dataset(TASK, seed=1, weights={1: 0.5, 2: 0.5}, n=200, exclude=held_out)
    assert np.array_equal(train.tokens, again.tokens)
    assert train.tokens.shape == (200, TASK.length) and train.loss_mask.shape == (200, TASK.length)


def test_too_small_a_task_for_its_test_set_is_an_error():
    tiny = IGSMLite(modulus=2, names=4, max_level=1, constants=(1, 1))  # 144 problems
    with pytest.raises(ValueError, match="level 1 has fewer than 150 distinct problems"):
        held_out_sets(tiny, seed=0, size=150)


def test_bad_configurations():
    with pytest.raises(ValueError, match="names = 5 is too few"):
        IGSMLite(names=5)
    with pytest.raises(ValueError, match="level = 0 is out of range"):
        TASK.sample(0, 0)


CHAIN = IGSMChain(modulus=7, min_level=2, max_level=6)


@pytest.mark.parametrize("level", CHAIN.levels)
def test_chain_problems_need_exactly_their_level_and_align_steps_with_slots(level):
    for seed in range(40):
        example = CHAIN.sample(seed, level)
        answer, operations = CHAIN.solve(example.tokens)
        assert operations == level == example.level
        tokens = example.tokens
        assert example.problem_length == CHAIN.problem_length
        offset = CHAIN.problem_length - 3  # slot i of the problem to step i of the solution
        for i in range(level):
            slot = 3 + 3 * i
            assert list(tokens[slot : slot + 2]) == list(tokens[slot + offset : slot + offset + 2])
        end = CHAIN.problem_length + 3 * level
        assert list(tokens[end : end + 3]) == [ANSWER, CHAIN.value_token(answer), EOS]
        assert tokens[end - 1] == CHAIN.value_token(answer)  # the last step's value
        mask = example.loss_mask.astype(bool)
        assert np.flatnonzero(mask)[0] == CHAIN.problem_length - 1
        assert np.flatnonzero(mask)[-1] == end + 1  # predicts EOS


PREFIXED = IGSMChain(modulus=7, min_level=2, max_level=6, prefix=5)


@pytest.mark.parametrize("level", PREFIXED.levels)
def test_a_prefix_moves_every_problem_and_keeps_it_solvable(level):
    offsets, answer_positions = set(), set()
    for seed in range(60):
        example = PREFIXED.sample(seed, level)
        plain = CHAIN.sample(seed, level)  # same seed without a prefix: the same problem
        offset = example.offset
        offsets.add(offset)
        assert PREFIXED.length == CHAIN.length + 5
        assert list(example.tokens[:offset]) == [PAD] * offset
        body = example.tokens[offset : offset + CHAIN.length]
        assert np.array_equal(body, plain.tokens)
        assert np.array_equal(example.loss_mask[offset : offset + CHAIN.length], plain.loss_mask)
        assert example.problem_hash() == plain.problem_hash()
        assert PREFIXED.solve(example.tokens) == CHAIN.solve(plain.tokens)
        assert PREFIXED.solve(example.tokens)[1] == level
        answer_positions.add(int(np.flatnonzero(example.tokens == EOS)[0]))
    assert offsets == set(range(6))  # every offset 0 … prefix occurs
    assert len(answer_positions) == 6  # so EOS is at no fixed position


def test_prefixed_held_out_and_training_sets_are_disjoint():
    tests = held_out_sets(PREFIXED, 3, 40)
    exclude = {h for d in tests.values() for h in d.hashes}
    train = mixture_dataset(PREFIXED, 4, {k: Fraction(1, 5) for k in PREFIXED.levels}, 200, exclude)
    assert not exclude & set(train.hashes)
    # Hashes ignore the prefix: a problem seen behind another prefix is the same problem.
    assert len(set(tests[2].hashes)) == 40


def test_chain_sampling_is_deterministic_and_checked():
    assert np.array_equal(CHAIN.sample(5, 4).tokens, CHAIN.sample(5, 4).tokens)
    assert not np.array_equal(CHAIN.sample(5, 4).tokens, CHAIN.sample(6, 4).tokens)
    with pytest.raises(ValueError, match="level = 7 is out of range"):
        CHAIN.sample(0, 7)
    with pytest.raises(ValueError, match="modulus"):
        IGSMChain(modulus=1)
    with pytest.raises(ValueError, match="prefix = -1 is out of range"):
        IGSMChain(prefix=-1)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_a_chain_level_holds_exactly_its_counted_problems(level):
    """Drawn until no new problem appears: the count is reached and never passed."""
    task = IGSMChain(modulus=2, max_level=3, prefix=3)
    seen = {task.sample(seed, level).problem_hash() for seed in range(12_000)}
    assert len(seen) == task.problem_count(level) == 2 * 6**level


def test_the_graph_structure_s_count_bounds_every_problem_it_draws():
    """A task small enough that drawing exhausts it (72 problems): the bound is above."""
    task = IGSMLite(modulus=2, names=3, max_level=1, constants=(1, 1))
    seen = {task.sample(seed, 1).problem_hash() for seed in range(3_000)}
    assert len(seen) == 72 and task.problem_count(1) >= 72
