"""Pretrain a base model, then fine-tune many models at once.

The engine is generic over the model: a training run is a pure function of a PRNG key, its
data (a pytree whose arrays have a leading row axis N, padded to the largest budget) and
its budget n (only rows < n are ever read). ``make_ensemble_trainer`` turns a per-step loss
into one compiled program over an ensemble axis M (seeds × budgets × buckets), so a grid
of one shape is one compiled program, whatever the cells' budgets are. Within it the
members are batched (vmap, on accelerators) or run one after another (lax.map, on a CPU,
where batched matmuls are slower): ``member_strategy``.

Step policies (``OptimizerConfig.schedule``, plain data in ``pacbound.recipe``), chosen
before any result is seen and named in each stored record:

- ``"epochs"`` (what a practitioner does): a run on n examples takes
  ceil(epochs · n / batch) optimizer steps, at least ``min_steps`` and at most ``steps``,
  with its own warm-up and cosine decay over exactly those steps. A small budget gets a
  short run instead of hundreds of passes over a handful of examples.
- ``"fixed"``: every run takes ``steps`` steps at the same batch and schedule, whatever n.
  Every budget then gets the same compute; a small budget revisits its examples far more
  often (800 epochs over 4 examples at 200 steps × batch 16).

Minibatches are drawn uniformly with replacement from the run's own n examples. Runs of
different lengths share one compiled program: each member's while-loop stops at its own step
count (batched, the loop runs to the longest member and a member past its own count is
frozen: its parameters and optimizer state are selected unchanged); a member's losses past
its count are NaN, and ``steps`` only sizes the loss record. The sweep batches cells of one
budget together, so batched members waste (almost) no steps.

Sharding: the ensemble axis is split over all devices (``jax.sharding``, one mesh axis),
padded to a multiple of the device count (members in sequence: shard_map, each device
running its own members). Across hosts, ``jax.distributed.initialize`` is
called by the sweep when the config enables it (``[distributed]`` in the TOML); every process
then runs the same sweep, the mesh spans every host's devices, results are gathered to every
process, and process 0 alone writes the store. A test runs it as two processes on one
machine (tests/test_sweep.py).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from pacbound.model import ModelConfig, apply, init_params
from pacbound.provenance import BASE_MODULES, json_hash, short_hash, source_hash
from pacbound.recipe import OptimizerConfig, PretrainConfig
from pacbound.tasks.base import pretraining_half


def make_optimizer(config: OptimizerConfig) -> optax.GradientTransformation:
    """AdamW at unit learning rate; ``make_step`` scales each update by ``learning_rate``
    (optax's adamw multiplies the decayed-weight update by the rate too, so this is
    AdamW with that schedule)."""
    parts = [optax.adamw(1.0, weight_decay=config.weight_decay)]
    if config.clip_norm > 0:
        parts.insert(0, optax.clip_by_global_norm(config.clip_norm))
    return optax.chain(*parts)


def warmup_for(config: OptimizerConfig, steps):
    """The warm-up steps of a run of ``steps`` steps (traced or concrete)."""
    if config.warmup_fraction is None:
        return jnp.minimum(config.warmup_steps, steps)
    return jnp.round(config.warmup_fraction * steps)


def learning_rate(config: OptimizerConfig, step, total):
    """The rate at ``step`` (0-based) of a run of ``total`` steps: linear warm-up from 0, then
    cosine decay to 10% of the peak at step ``total`` (optax's warmup_cosine_decay_schedule
    with decay_steps = total)."""
    peak, end = config.learning_rate, 0.1 * config.learning_rate
    warmup = warmup_for(config, total)
    step = jnp.asarray(step, jnp.float32)
    rising = peak * step / jnp.maximum(warmup, 1)
    progress = jnp.clip((step - warmup) / jnp.maximum(total - warmup, 1), 0.0, 1.0)
    decaying = end + (peak - end) * 0.5 * (1 + jnp.cos(jnp.pi * progress))
    return jnp.where(step < warmup, rising, decaying)


# --- the language-model loss -------------------------------------------------------------


def sequence_loss(params, tokens_BxL, loss_mask_BxL, config: ModelConfig, objective="sft"):
    """Mean cross-entropy of the next token over the masked (solution) positions; under
    "dft" each token's cross-entropy −ln p is weighted by stop_gradient(p), so its gradient
    is p·∇(−ln p) and the weight itself is not differentiated."""
    logits_BxLxV = apply(params, tokens_BxL, config).astype(jnp.float32)
    targets_BxL = jnp.roll(tokens_BxL, -1, axis=1)
    losses_BxL = optax.softmax_cross_entropy_with_integer_labels(logits_BxLxV, targets_BxL)
    if objective == "dft":
        losses_BxL = losses_BxL * jax.lax.stop_gradient(jnp.exp(-losses_BxL))
    return jnp.sum(losses_BxL * loss_mask_BxL) / jnp.maximum(jnp.sum(loss_mask_BxL), 1.0)


def minibatch_loss(config: ModelConfig, batch: int, objective: str = "sft") -> Callable:
    """step_loss(params, data, n, key): the sequence loss (of ``objective``) on ``batch``
    rows drawn uniformly with replacement from rows 0 … n − 1 of data = {"tokens": NxL,
    "loss_mask": NxL}."""

    def step_loss(params, data, n, key):
        rows_B = jax.random.randint(key, (batch,), 0, n)
        tokens, mask = data["tokens"][rows_B], data["loss_mask"][rows_B]
        return sequence_loss(params, tokens, mask, config, objective)

    return step_loss


# --- one run and many runs ---------------------------------------------------------------


def make_step(step_loss: Callable, config: OptimizerConfig):
    """step(params, opt_state, key, data, n, t, total) -> (params, opt_state, loss): update t
    (0-based) of a run of ``total`` steps."""
    optimizer = make_optimizer(config)

    def step(params, opt_state, key, data, n, t, total):
        loss, grads = jax.value_and_grad(step_loss)(params, data, n, key)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        rate = learning_rate(config, t, total)
        updates = jax.tree.map(lambda u: (rate * u).astype(u.dtype), updates)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def make_scan(step_loss: Callable, config: OptimizerConfig, steps: int):
    """scan(params, opt_state, key, data, n, first) -> ((params, opt_state), losses_S):
    updates first … first + steps − 1 of a run of ``config.steps``, in one scan (pretraining
    runs in chunks of such scans)."""
    step = make_step(step_loss, config)

    def scan(params, opt_state, key, data, n, first):
        def body(state, inputs):
            t, step_key = inputs
            params, opt_state, loss = step(*state, step_key, data, n, t, config.steps)
            return (params, opt_state), loss

        ts = first + jnp.arange(steps)
        return jax.lax.scan(body, (params, opt_state), (ts, jax.random.split(key, steps)))

    return scan


#: Steps per compiled call when a run reports its progress: a few seconds of the quick
#: preset's batch on 2 CPU cores, so a progress bar moves within a batch.
PROGRESS_STEPS = 20


def make_advance(step_loss: Callable, config: OptimizerConfig):
    """(start, advance): start(params) is a run's state (step 0, params, a fresh optimizer
    state, losses_S all NaN); advance(state, key, data, n, steps, stop) continues it up to
    step min(steps, stop). A while-loop, so under vmap the ensemble stops at its longest
    member; losses_S has config.steps entries, NaN past ``steps``. Step t's key is
    ``fold_in(key, t)``, so a run's trajectory does not depend on the cap, on the other
    members or on where it is cut into calls."""
    step = make_step(step_loss, config)
    optimizer = make_optimizer(config)

    def start(params):
        losses_S = jnp.full((config.steps,), jnp.nan, jnp.float32)
        return (jnp.int32(0), params, optimizer.init(params), losses_S)

    def advance(state, key, data, n, steps, stop):
        def body(state):
            t, params, opt_state, losses_S = state
            params, opt_state, loss = step(
                params, opt_state, jax.random.fold_in(key, t), data, n, t, steps
            )
            return t + 1, params, opt_state, losses_S.at[t].set(loss.astype(jnp.float32))

        last = jnp.minimum(steps, stop)
        return jax.lax.while_loop(lambda s: s[0] < last, body, state)

    return start, advance


def make_run(step_loss: Callable, config: OptimizerConfig):
    """run(params, key, data, n, steps) -> (params, losses_S): a whole run of ``steps`` ≤
    config.steps updates in one call (``make_advance``)."""
    start, advance = make_advance(step_loss, config)

    def run(params, key, data, n, steps):
        _, params, _, losses_S = advance(start(params), key, data, n, steps, config.steps)
        return params, losses_S

    return run


#: How the members of an ensemble share its compiled program: "vmap" batches every operation
#: over them (each matmul becomes one batched matmul), "map" runs them one after another
#: (lax.map: each member's matmuls stay plain ones). XLA's CPU backend runs a transformer
#: ensemble's batched matmuls slower than one after another (1.04–1.33× in
#: benchmarks/bench_train.py), while an accelerator needs the batch to be filled.
MEMBER_STRATEGIES = ("vmap", "map")


def member_strategy(platform: str | None = None) -> str:
    """The default strategy on ``platform`` (default: JAX's backend): "map" on a CPU,
    "vmap" on an accelerator."""
    return "map" if (platform or jax.default_backend()) == "cpu" else "vmap"


def _ensemble_programs(start, advance, shared_axes=None, members: str | None = None):
    """jit of a run's start and advance over the ensemble (its keys give the axis), its
    members batched (``members = "vmap"``) or in sequence (``"map"``; default
    ``member_strategy()``). ``shared_axes``: the in_axes of data (default every entry per
    member; batched members only). In sequence, shard_map gives each device its own members
    to run in turn; on one device a member's numbers are then those of its run compiled
    alone, whatever the other members are."""
    members = members or member_strategy()
    if members not in MEMBER_STRATEGIES:
        raise ValueError(f"members = {members!r} is not one of {', '.join(MEMBER_STRATEGIES)}")
    start_one = jax.vmap(lambda params, key: start(params), in_axes=(None, 0))
    if members == "vmap":
        start_M = jax.jit(start_one)
        data_axes = 0 if shared_axes is None else dict(shared_axes)
        advance_M = jax.vmap(advance, in_axes=(0, 0, data_axes, 0, 0, None))
        return start_M, jax.jit(advance_M, donate_argnums=(0,))
    if shared_axes is not None:
        raise ValueError('shared data needs members = "vmap"')

    def in_sequence(state_M, keys_M, data_M, n_M, steps_M, stop):
        members_M = (state_M, keys_M, data_M, n_M, steps_M)
        return jax.lax.map(lambda member: advance(*member, stop), members_M)

    split = PartitionSpec("ensemble")
    advance_M = jax.shard_map(
        in_sequence,
        mesh=ensemble_mesh(),
        in_specs=(split, split, split, split, split, PartitionSpec()),
        out_specs=split,
    )
    # The state is placed split over the ensemble by both programs: a run cut into calls
    # (progress) then reuses advance_M's one compiled program, where a state placed otherwise
    # by start_M would compile it a second time for the calls after the first.
    state = NamedSharding(ensemble_mesh(), split)
    return (
        jax.jit(start_one, out_shardings=state),
        jax.jit(advance_M, donate_argnums=(0,), out_shardings=state),
    )


def _train_in_calls(programs, params, keys_M, data, n_M, steps_M, longest, progress):
    """Run the ensemble to its longest member's last step (``longest``, from the host-side
    steps: across processes the sharded steps_M is not readable whole): in one call, or with
    ``progress`` in calls of PROGRESS_STEPS steps, reporting progress(fraction of steps done)
    after each. The cut changes no number: each call continues the same while-loop."""
    start_M, advance_M = programs
    state = start_M(params, keys_M)
    chunk = PROGRESS_STEPS if progress is not None else max(longest, 1)
    for stop in range(chunk, longest + chunk, chunk):
        state = advance_M(state, keys_M, data, n_M, steps_M, np.int32(min(stop, longest)))
        if progress is not None:
            jax.block_until_ready(state[0])
            progress(min(stop, longest) / longest)
    return gather_ensemble((state[1], state[3]))


def make_ensemble_trainer(
    step_loss: Callable, optimizer_config: OptimizerConfig, members: str | None = None
):
    """train(base_params, keys_M, data_M, n_M, progress=None) -> (params_M, losses_MxS).

    Every member starts from the same base parameters; member m reads only rows < n_M[m] of
    its own data and takes ``optimizer_config.steps_for(n_M[m])`` steps. One compiled
    program for the whole ensemble, its axis sharded over devices, its members batched or
    in sequence (``members``, default ``member_strategy()``); ``progress(fraction)`` is
    called every PROGRESS_STEPS steps when given.
    """
    programs = _ensemble_programs(*make_advance(step_loss, optimizer_config), members=members)

    def train(base_params, keys_M, data_M, n_M, progress=None):
        members = keys_M.shape[0]
        steps_M = optimizer_config.steps_for(np.asarray(n_M))
        longest = int(steps_M.max())
        keys_M, data_M, n_M, steps_M = shard_ensemble((keys_M, data_M, n_M, steps_M))
        params_M, losses_MxS = _train_in_calls(
            programs, base_params, keys_M, data_M, n_M, steps_M, longest, progress
        )
        return jax.tree.map(lambda x: x[:members], (params_M, losses_MxS))

    train.compiled = programs[1]  # exposed so that tests can count compilations
    return train


def random_projection(seed: int, dim: int, k: int) -> jax.Array:
    """P_dxk with entries N(0, 1/d): its columns have norm ≈ 1 and are nearly orthogonal,
    so ‖P·w‖ ≈ ‖w‖ (Li et al. 2018). Drawn from ``seed`` alone."""
    key = jax.random.PRNGKey(seed)
    return jax.random.normal(key, (dim, k), jnp.float32) / jnp.sqrt(jnp.float32(dim))


def make_subspace_trainer(step_loss: Callable, optimizer_config: OptimizerConfig, unravel):
    """train(anchor_D, projection_DxK, keys_M, data_M, n_M) -> (w_MxK, losses_MxS).

    Fine-tuning in a random subspace: member m trains w ∈ R^k from 0, its weights being
    unravel(anchor + projection·w); the anchor (θ_pre) and the projection are shared by the
    whole ensemble (passed once, not per member). The peak rate is ``subspace_rate``·√(d/k)
    (see ``OptimizerConfig``). Otherwise as ``make_ensemble_trainer``.
    """

    def subspace_loss(w, data, n, key):
        theta = unravel(data["anchor"] + data["projection"] @ w)
        return step_loss(theta, data, n, key)

    @functools.cache
    def programs(dim: int, k: int, axes: tuple):
        rate = optimizer_config.subspace_rate or optimizer_config.learning_rate
        config = replace(optimizer_config, learning_rate=rate * math.sqrt(dim / k))
        # Batched on every device: the members share the projection, so P·w is one matmul
        # over the ensemble (in sequence, each member would read all of P, d·k floats, twice
        # every step).
        return _ensemble_programs(*make_advance(subspace_loss, config), axes, "vmap")

    def train(anchor, projection, keys_M, data_M, n_M, progress=None):
        members = keys_M.shape[0]
        steps_M = optimizer_config.steps_for(np.asarray(n_M))
        longest = int(steps_M.max())
        keys_M, data_M, n_M, steps_M = shard_ensemble((keys_M, data_M, n_M, steps_M))
        # Per-member arrays are batched; the anchor and the projection are shared.
        axes = tuple(
            sorted({**dict.fromkeys(data_M, 0), "anchor": None, "projection": None}.items())
        )
        data = {**data_M, "anchor": anchor, "projection": projection}
        w0 = jnp.zeros(projection.shape[1], anchor.dtype)
        w_M, losses_MxS = _train_in_calls(
            programs(*projection.shape, axes), w0, keys_M, data, n_M, steps_M, longest, progress
        )
        return jax.tree.map(lambda x: x[:members], (w_M, losses_MxS))

    return train


def finetune(base_params, datasets, keys_M, model_config: ModelConfig, config: OptimizerConfig):
    """Fine-tune one model per dataset (its budget n_m is its length) from the base, all at
    once. Returns (params_M, losses_MxS)."""
    data_M = language_data(datasets, max(len(d) for d in datasets))
    n_M = np.array([len(d) for d in datasets], dtype=np.int32)
    return language_trainer(model_config, config)(base_params, keys_M, data_M, n_M)


@functools.cache
def language_trainer(model_config: ModelConfig, config: OptimizerConfig):
    """The ensemble trainer of a transformer, one per (model, optimizer) config, so repeated
    calls with data of one shape reuse one compiled program."""
    return make_ensemble_trainer(
        minibatch_loss(model_config, config.batch, config.objective), config
    )


def shard_ensemble(tree):
    """Pad the leading (ensemble) axis to a multiple of the device count by repeating the
    last member, and split it over every device of every process (one global mesh). Each
    process holds the whole host-side tree (data and keys are deterministic), so it can
    supply the shards of its own devices."""
    devices = jax.devices()
    members = jax.tree.leaves(tree)[0].shape[0]
    padded = -(-members // len(devices)) * len(devices)

    def pad(x):
        x = np.asarray(x)
        if padded == members:
            return x
        return np.concatenate([x, np.repeat(x[-1:], padded - members, axis=0)])

    tree = jax.tree.map(pad, tree)
    if len(devices) == 1:
        return jax.tree.map(jnp.asarray, tree)
    sharding = NamedSharding(ensemble_mesh(), PartitionSpec("ensemble"))
    return jax.tree.map(
        lambda x: jax.make_array_from_callback(x.shape, sharding, lambda index: x[index]), tree
    )


def ensemble_mesh() -> Mesh:
    """One mesh axis, "ensemble", over every device of every process."""
    return Mesh(np.array(jax.devices()), ("ensemble",))


def gather_ensemble(tree):
    """The whole ensemble on every process: across hosts, each holds only its own shards."""
    if jax.process_count() == 1:
        return tree
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)


def language_data(datasets, rows: int) -> dict[str, np.ndarray]:
    """{"tokens": MxNxL, "loss_mask": MxNxL}: the datasets' rows padded to ``rows``."""
    return {
        "tokens": pad_rows([d.tokens for d in datasets], rows),
        "loss_mask": pad_rows([d.loss_mask for d in datasets], rows),
    }


def solvable_data(samples, rows: int) -> dict[str, np.ndarray]:
    """{"j", "s", "y"}: MxN each, from ``SolvableLinear.sample`` triples padded to ``rows``."""
    return {
        "j": pad_rows([j.astype(np.int32) for j, _, _ in samples], rows),
        "s": pad_rows([s for _, s, _ in samples], rows),
        "y": pad_rows([y for _, _, y in samples], rows),
    }


def pad_rows(arrays: list[np.ndarray], rows: int) -> np.ndarray:
    """Stack arrays of shape (n_m, …) into (M, rows, …), zero-padded: the budget mask."""
    stacked = np.zeros((len(arrays), rows, *arrays[0].shape[1:]), dtype=arrays[0].dtype)
    for m, array in enumerate(arrays):
        stacked[m, : len(array)] = array
    return stacked


# --- pretraining with a cache ------------------------------------------------------------


def config_hash(*parts) -> str:
    """A stable hash of dataclass configs (and plain JSON values)."""
    return json_hash([asdict(p) if hasattr(p, "__dataclass_fields__") else p for p in parts])


def pretrain(
    task,
    model_config: ModelConfig,
    config: PretrainConfig,
    exclude: frozenset[str] = frozenset(),
    cache_dir: Path | None = None,
    progress: Callable[[int, float], None] | None = None,
):
    """The base model: ``config.optimizer.steps`` steps on fresh problems of the levels in
    ``config.levels`` (uniform over levels), none of whose problems is in ``exclude`` (the
    hashes of the held-out sets). Cached in ``cache_dir`` under a hash of the task,
    model and pretraining configs, of ``exclude`` and of the source that pretrains
    (``provenance.BASE_MODULES``); a cached base is loaded instead of retrained.

    Returns (params, losses_S). ``progress(steps_done, last_loss)`` is called per chunk.
    """
    low, high = config.levels
    if not (low in task.levels and high in task.levels and low <= high):
        raise ValueError(f"pretrain levels = {config.levels} are not a range within {task.levels}")
    path = None
    if cache_dir is not None:
        # The excluded problems change the pretraining data, so they are part of the key: two
        # experiments with other held-out sets never share a base.
        excluded = short_hash("".join(sorted(exclude)))
        # So is the code that pretrains: after a change there the base is trained anew.
        code = source_hash(BASE_MODULES)
        key = config_hash(task, model_config, config, excluded, code)
        path = Path(cache_dir) / f"base-{key}.npz"
        if path.exists():
            return load_params(path, model_config)
    optimizer_config = config.optimizer
    optimizer = make_optimizer(optimizer_config)
    step_loss = minibatch_loss(model_config, optimizer_config.batch, optimizer_config.objective)
    params = init_params(jax.random.PRNGKey(config.seed), model_config)
    opt_state = optimizer.init(params)

    # The row count is static, as a budget of every row: one compile for every chunk.
    chunk_run = jax.jit(make_scan(step_loss, optimizer_config, config.chunk), static_argnums=4)

    losses, key = [], jax.random.PRNGKey(config.seed + 1)
    chunks = pretraining_chunks(task, config, exclude)
    for done in range(0, optimizer_config.steps, config.chunk):
        examples = next(chunks)
        data = {
            "tokens": jnp.asarray(np.stack([e.tokens for e in examples])),
            "loss_mask": jnp.asarray(np.stack([e.loss_mask for e in examples])),
        }
        key, chunk_key = jax.random.split(key)
        (params, opt_state), chunk_losses = chunk_run(
            params, opt_state, chunk_key, data, len(examples), done
        )
        losses.append(np.asarray(chunk_losses))
        if progress is not None:
            progress(done + config.chunk, float(losses[-1][-1]))
    losses = np.concatenate(losses)
    if path is not None:
        save_params(path, params, losses)
    return params, losses


def pretraining_chunks(task, config: PretrainConfig, exclude: frozenset[str] = frozenset()):
    """The pretraining problems, chunk by chunk: each chunk's minibatches are drawn from
    chunk × batch fresh problems of the pretraining levels (uniform over levels), none in
    ``exclude`` and, for a ``disjoint`` base, all in the pretraining half of the problems.
    A function of the pretraining config alone: no fine-tuning sample is ever consulted."""
    low, high = config.levels
    rng = np.random.default_rng([config.seed, 7])
    size = config.chunk * config.optimizer.batch
    while True:
        examples = []
        for _ in range(100 * size):  # bounded: only a tiny task runs out of problems
            example = task.sample(int(rng.integers(0, 2**63 - 1)), int(rng.integers(low, high + 1)))
            digest = example.problem_hash()
            if digest not in exclude and (not config.disjoint or pretraining_half(digest)):
                examples.append(example)
            if len(examples) == size:
                break
        else:
            raise ValueError("too few pretraining problems outside the held-out sets")
        yield examples


def save_params(path: Path, params, losses) -> None:
    """Write atomically (a temporary file renamed), so a killed run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    leaves, _ = jax.tree_util.tree_flatten_with_path(params)
    arrays = {jax.tree_util.keystr(p): np.asarray(x) for p, x in leaves}
    temporary = path.with_suffix(".tmp.npz")
    np.savez(temporary, __losses__=np.asarray(losses), **arrays)
    temporary.replace(path)


def load_params(path: Path, model_config: ModelConfig):
    template = init_params(jax.random.PRNGKey(0), model_config)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    with np.load(path) as stored:
        values = [jnp.asarray(stored[jax.tree_util.keystr(p)]) for p, _ in leaves]
        losses = stored["__losses__"]
    return jax.tree_util.tree_unflatten(treedef, values), losses


# --- the exactly solvable task ---------------------------------------------------------


#: The solvable task's ensembles are batched on every device: a member is a vector of D
#: numbers and no matmul, so one after another would only add a loop
#: (benchmarks/bench_train.py).
SOLVABLE_MEMBERS = "vmap"


def solvable_map_loss(task):
    """step_loss for ``SolvableLinear``: the negative log posterior of θ given rows < n of
    data = {"j": N, "s": N, "y": N}, over the padded length N (full batch, no key used). Its
    minimiser is the posterior mean; its Hessian is the posterior precision."""
    prior_mean = jnp.asarray(task.pretrained_weights)

    def step_loss(theta, data, n, key):
        rows_N = jnp.arange(data["y"].shape[0]) < n
        residual_N = data["y"] - theta[data["j"]] * data["s"]
        fit = 0.5 * jnp.sum(jnp.where(rows_N, residual_N**2, 0.0)) / task.noise_std**2
        prior = 0.5 * jnp.sum((theta - prior_mean) ** 2) / task.prior_std**2
        return (fit + prior) / data["y"].shape[0]

    return step_loss


def solvable_posterior_variance(task, theta, data, n):
    """variance_D: the inverse diagonal of the Hessian of the negative log posterior at θ
    (exact here, the model being linear-Gaussian with one coordinate per example)."""
    rows = data["y"].shape[0]
    hessian = jax.hessian(solvable_map_loss(task))(theta, data, n, None) * rows
    return 1.0 / jnp.diag(hessian)
