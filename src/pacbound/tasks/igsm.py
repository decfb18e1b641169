"""iGSM-lite: modular-arithmetic word problems whose answer needs exactly k operations.

Written from the description of iGSM ("Physics of Language Models, Part 2.1"): quantities
with names from a fixed vocabulary and values mod p, a random dependency graph, definitions
listed in shuffled order, one quantity asked for, and a solution that computes the needed
quantities in a canonical dependency order, each step with its value, then the answer.

Token layout of one example (PAD-filled to the task's fixed length L):

    problem:   BOS  [c = v ;]…  [x = a op b ;]…  (shuffled)  ? q
    solution:  [x = a op b : va op vb = vx ;]…  (dependency order)  A v_q EOS

The loss mask covers the solution tokens only. Difficulty (the level) is the number k of
operations the answer needs; distractor quantities, computed but not needed, are optional.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pacbound.tasks.base import Example

PAD, BOS, EOS, EQUALS, END, QUERY, COLON, ANSWER = range(8)
OPS = ("+", "-", "*")
_OP_BASE = 8
_VALUE_BASE = _OP_BASE + len(OPS)


def _operate(op: int, a: int, b: int, modulus: int) -> int:
    return (a + b, a - b, a * b)[op] % modulus


class _ModularLevels:
    """What both structures share: values mod ``modulus``, levels min_level … max_level."""

    def _check_levels(self) -> None:
        if self.modulus < 2:
            raise ValueError(f"modulus = {self.modulus} is out of range: allowed [2, inf)")
        if not 1 <= self.min_level <= self.max_level:
            raise ValueError("levels must satisfy 1 ≤ min_level ≤ max_level")

    @property
    def level_range(self) -> range:
        return range(self.min_level, self.max_level + 1)

    @property
    def levels(self) -> tuple[int, ...]:
        return tuple(self.level_range)

    def value_token(self, value: int) -> int:
        return _VALUE_BASE + value

    # A transformer learns these from sampled tokens: its risks are measured on held-out
    # sets and certified by Monte Carlo, its complexity is its squared distance to the base.
    exact_risks = False
    complexity = ("sq_distance", "‖θ − θ_pre‖²")
    solution_roles = False
    level_key = "max_level"

    #: How many leading solution tokens follow from the problem alone, with no solution
    #: token in their context beyond those copied from the problem (0: none is known).
    label_free_steps = 0


@dataclass(frozen=True)
class IGSMLite(_ModularLevels):
    """An iGSM-lite task. Levels 1 … max_level are operation counts."""

    modulus: int = 5
    names: int = 20
    max_level: int = 8
    min_level: int = 1
    constants: tuple[int, int] = (2, 4)  # given values per problem, inclusive range
    distractors: int = 0  # derived quantities computed but not needed

    def __post_init__(self):
        self._check_levels()
        low, high = self.constants
        if not 1 <= low <= high:
            raise ValueError(f"constants = {self.constants}: need 1 ≤ low ≤ high")
        needed = high + self.max_level + self.distractors
        if self.names < needed:
            raise ValueError(f"names = {self.names} is too few: problems need up to {needed}")

    # --- vocabulary ------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return _VALUE_BASE + self.modulus + self.names

    def name_token(self, index: int) -> int:
        return _VALUE_BASE + self.modulus + index

    @property
    def length(self) -> int:
        """L: the longest problem plus solution, so every level shares one shape."""
        high = self.constants[1]
        problem = 1 + 4 * high + 6 * (self.max_level + self.distractors) + 2
        solution = 12 * self.max_level + 3
        return problem + solution

    # --- sampling --------------------------------------------------------------------

    def sample(self, seed: int, level: int) -> Example:
        """One problem needing exactly ``level`` operations, determined by ``seed``."""
        if level not in self.levels:
            raise ValueError(f"level = {level} is out of range: allowed {self.levels}")
        rng = np.random.default_rng(seed)
        count = int(rng.integers(self.constants[0], self.constants[1] + 1))
        values = [int(v) for v in rng.integers(0, self.modulus, count)]
        nodes = [None] * count  # None: a given constant; else (op, left, right)
        unused: list[int] = []  # derived quantities not yet used by a later one
        for step in range(level):
            remaining = level - step - 1
            # Every derived quantity must be needed: consume enough unused ones now that
            # the rest can still be folded into the final one.
            low = max(len(unused) - remaining, 1 if unused else 0)
            take = int(rng.integers(low, min(2, len(unused)) + 1)) if unused else 0
            operands = [unused.pop(int(rng.integers(len(unused)))) for _ in range(take)]
            pool = list(range(count)) + [i for i in range(count, len(nodes)) if nodes[i]]
            while len(operands) < 2:
                operands.append(int(rng.choice(pool)))
            rng.shuffle(operands)
            op = int(rng.integers(len(OPS)))
            nodes.append((op, operands[0], operands[1]))
            values.append(self._apply(op, values[operands[0]], values[operands[1]]))
            unused.append(len(nodes) - 1)
        query = len(nodes) - 1
        needed = len(nodes)
        for _ in range(self.distractors):
            left, right = (int(x) for x in rng.integers(0, len(nodes), 2))
            op = int(rng.integers(len(OPS)))
            nodes.append((op, left, right))
            values.append(self._apply(op, values[left], values[right]))
        names = [int(x) for x in rng.permutation(self.names)[: len(nodes)]]
        return self._encode(rng, nodes, values, names, query, needed)

    problem_count_exact = False  # problem_count bounds the count from above

    def problem_count(self, level: int) -> int:
        """At most this many distinct problems of ``level`` (an upper bound, not a count):
        with c given values and s = c + level + distractors statements, each of the c given
        values is one of ``modulus``, each derived statement an operation on two of the s
        quantities, the s names distinct ones of ``names``, in one of s! orders."""
        total = 0
        for given in range(self.constants[0], self.constants[1] + 1):
            statements = given + level + self.distractors
            derived = (len(OPS) * statements**2) ** (level + self.distractors)
            names = math.perm(self.names, statements)
            total += self.modulus**given * derived * names * math.factorial(statements)
        return total

    def _apply(self, op: int, a: int, b: int) -> int:
        return _operate(op, a, b, self.modulus)

    def _encode(self, rng, nodes, values, names, query, needed) -> Example:
        name = [self.name_token(i) for i in names]
        definitions = []
        for i, node in enumerate(nodes):
            if node is None:
                definitions.append([name[i], EQUALS, self.value_token(values[i]), END])
            else:
                op, a, b = node
                definitions.append([name[i], EQUALS, name[a], _OP_BASE + op, name[b], END])
        order = rng.permutation(len(definitions))
        problem = [BOS] + [t for i in order for t in definitions[i]] + [QUERY, name[query]]
        solution = []
        for i in range(needed):  # creation order is a dependency order
            if nodes[i] is None:
                continue
            op, a, b = nodes[i]
            solution += [name[i], EQUALS, name[a], _OP_BASE + op, name[b], COLON]
            solution += [self.value_token(values[a]), _OP_BASE + op, self.value_token(values[b])]
            solution += [EQUALS, self.value_token(values[i]), END]
        solution += [ANSWER, self.value_token(values[query]), EOS]
        tokens = np.full(self.length, PAD, dtype=np.int32)
        sequence = problem + solution
        tokens[: len(sequence)] = sequence
        # The model predicts token t+1 from tokens ≤ t: the mask marks positions whose
        # *next* token is a solution token.
        loss_mask = np.zeros(self.length, dtype=np.float32)
        loss_mask[len(problem) - 1 : len(sequence) - 1] = 1.0
        level = sum(node is not None for node in nodes[:needed])
        return Example(tokens=tokens, loss_mask=loss_mask, level=level, problem_length=len(problem))

    # --- reference solver -----------------------------------------------------------

    def solve(self, tokens: np.ndarray) -> tuple[int, int]:
        """(answer, operations needed) read back from a problem's tokens alone."""
        tokens = [int(t) for t in tokens]
        query_at = tokens.index(QUERY)
        definitions, i = {}, 1
        while i < query_at:
            end = tokens.index(END, i)
            definitions[tokens[i]] = tokens[i + 2 : end]
            i = end + 1
        memo: dict[int, tuple[int, frozenset]] = {}

        def value(token: int) -> tuple[int, frozenset]:
            if token not in memo:
                body = definitions[token]
                if len(body) == 1:
                    memo[token] = (body[0] - _VALUE_BASE, frozenset())
                else:
                    (va, da), (vb, db) = value(body[0]), value(body[2])
                    memo[token] = (self._apply(body[1] - _OP_BASE, va, vb), da | db | {token})
            return memo[token]

        answer, ops = value(tokens[query_at + 1])
        return answer, len(ops)


@dataclass(frozen=True)
class IGSMChain(_ModularLevels):
    """The chain structure of iGSM-lite: each operation takes the previous result and an
    inline constant, so the answer needs exactly k operations and no lookup by name.

    Made for a CPU: a small transformer learns it in minutes, whereas the graph structure's
    lookup of a value by a random name does not form at that scale. The problem region has
    a fixed number of slots (max_level), so solution step i always sits at the same distance
    from its slot in the problem whatever k is:

        problem:   BOS v0 ;  [op_1 c_1 ;] … [op_k c_k ;] [PAD PAD PAD]…  ?
        solution:  [op_1 c_1 v_1] … [op_k c_k v_k]  A v_k EOS

    with v_i = v_{i-1} op_i c_i mod p. Same token ids as ``IGSMLite``.

    ``prefix`` > 0 puts r ~ uniform{0, …, prefix} PAD tokens before BOS, so that absolute
    positions say nothing about the content. Without it, step i of every solution sits at
    one absolute position, and a model fine-tuned on long chains only can learn "a value
    token always follows here" instead of reading from the problem when to stop. With
    prefix ≥ 2 every position holds each of the three token kinds of a step (op, constant,
    value) in some examples. Relative offsets (slot i to step i) are unchanged.
    """

    modulus: int = 5
    max_level: int = 10
    min_level: int = 1
    prefix: int = 0  # the longest neutral prefix

    # op_1 and c_1 are copied from the problem and v_1 = v_0 op_1 c_1 needs nothing else: a
    # prediction of these three under teacher forcing uses no label.
    label_free_steps = 3
    # Every solution is steps of (operation, constant, value), then the answer marker, the
    # answer and EOS: run/probe names a token's role by its position alone.
    solution_roles = True

    def __post_init__(self):
        self._check_levels()
        if self.prefix < 0:
            raise ValueError(f"prefix = {self.prefix} is out of range: allowed [0, inf)")

    @property
    def vocab_size(self) -> int:
        return _VALUE_BASE + self.modulus

    problem_count_exact = True

    def problem_count(self, level: int) -> int:
        """The distinct problems of ``level``, exactly: a start value and ``level`` pairs of
        an operation and a constant (the neutral prefix is no part of a problem's hash)."""
        return self.modulus * (len(OPS) * self.modulus) ** level

    @property
    def problem_length(self) -> int:
        return 3 + 3 * self.max_level + 1

    @property
    def length(self) -> int:
        return self.prefix + self.problem_length + 3 * self.max_level + 3

    def sample(self, seed: int, level: int) -> Example:
        if level not in self.levels:
            raise ValueError(f"level = {level} is out of range: allowed {self.levels}")
        rng = np.random.default_rng(seed)
        value = int(rng.integers(self.modulus))
        problem = [BOS, self.value_token(value), END]
        solution = []
        for _ in range(level):
            op, constant = int(rng.integers(len(OPS))), int(rng.integers(self.modulus))
            value = _operate(op, value, constant, self.modulus)
            problem += [_OP_BASE + op, self.value_token(constant), END]
            solution += [_OP_BASE + op, self.value_token(constant), self.value_token(value)]
        problem += [PAD] * (self.problem_length - 1 - len(problem)) + [QUERY]
        solution += [ANSWER, self.value_token(value), EOS]
        # Drawn last, so that prefix = 0 gives the problems it always gave.
        offset = int(rng.integers(self.prefix + 1)) if self.prefix else 0
        problem = [PAD] * offset + problem
        tokens = np.full(self.length, PAD, dtype=np.int32)
        tokens[: len(problem) + len(solution)] = problem + solution
        loss_mask = np.zeros(self.length, dtype=np.float32)
        loss_mask[len(problem) - 1 : len(problem) + len(solution) - 1] = 1.0
        return Example(
            tokens=tokens,
            loss_mask=loss_mask,
            level=level,
            problem_length=len(problem),
            offset=offset,
        )

    def solve(self, tokens: np.ndarray) -> tuple[int, int]:
        """(answer, operations needed) read back from a problem's tokens alone."""
        tokens = tokens[int(np.argmax(np.asarray(tokens) == BOS)) :]  # skip the prefix
        value, operations = int(tokens[1]) - _VALUE_BASE, 0
        for start in range(3, self.problem_length - 1, 3):
            op = int(tokens[start])
            if op == PAD:
                break
            constant = int(tokens[start + 1]) - _VALUE_BASE
            value = _operate(op - _OP_BASE, value, constant, self.modulus)
            operations += 1
        return value, operations
