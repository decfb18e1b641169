"""Model-steps per second of the ensemble trainer against per-model loops, and FLOP/s.

    python benchmarks/bench_train.py [--members 16] [--steps 50]

For each model, measured in one run on the same data and keys (after compilation, best of
``--repeats``):
- the engine (``make_ensemble_trainer``), one compiled program over all members, under
  both member strategies: batched (vmap) and in sequence (lax.map); ``ens`` in the ratios is
  the one the sweep uses (``member_strategy`` for the transformers, vmap for the linear
  model);
- (a) scan loop: a Python loop over members, each one jitted scan over its steps;
- (b) step loop: a Python loop over members and steps, each step one jitted call.
- the peer, for the transformers (when PyTorch is installed: ``pip install -e '.[bench]'``,
  CPU wheel from https://download.pytorch.org/whl/cpu): the same model, loss and optimizer
  in PyTorch (``torch_peer.py``, checked logit for logit and gradient for gradient against
  the JAX model first), as (c) a plain per-model loop and (d) a torch.func vmap ensemble.
Models: the quick preset's transformer, a tiny transformer (1 layer, width 16) and the
solvable task's linear model. Achieved FLOP/s of each (XLA's cost analysis of one ensemble
step × steps, over the measured time) is set against a float32 matmul peak measured here.

What masking steps costs (the quick transformer, one compiled program with a cap of
``--steps``): the same ensemble with every member at the cap, every member at a fifth of it
(a batch of one budget, as the sweep builds them), and all but one member at a fifth (a
batch mixing budgets); the time per useful model-step is set against the first.
"""

from __future__ import annotations

import argparse
import os
import platform

import jax
import jax.numpy as jnp
import numpy as np

from pacbound import config
from pacbound.model import ModelConfig, init_params
from pacbound.recipe import OptimizerConfig
from pacbound.tasks.base import mixture_dataset
from pacbound.tasks.solvable import SolvableLinear
from pacbound.train import (
    MEMBER_STRATEGIES,
    SOLVABLE_MEMBERS,
    language_data,
    make_ensemble_trainer,
    make_optimizer,
    make_run,
    make_step,
    member_strategy,
    minibatch_loss,
    solvable_data,
    solvable_map_loss,
)
from timing import best_time  # benchmarks/timing.py, beside this script


def matmul_peak(size: int = 1024, repeats: int = 5) -> float:
    a = jnp.ones((size, size), jnp.float32)
    product = jax.jit(lambda x: x @ x)
    seconds = best_time(lambda: product(a).block_until_ready(), repeats)
    return 2 * size**3 / seconds


def language_case(model: ModelConfig, task, members: int, rows: int):
    datasets = [mixture_dataset(task, m, {task.levels[-1]: 1}, rows) for m in range(members)]
    data = language_data(datasets, rows)
    params = init_params(jax.random.PRNGKey(0), model)
    return params, data, minibatch_loss(model, 16)


def solvable_case(members: int, rows: int):
    task = SolvableLinear()
    rng = np.random.default_rng(0)
    samples = [task.sample(rng, 1 + m % task.levels, rows) for m in range(members)]
    data = solvable_data(samples, rows)
    return jnp.asarray(task.pretrained_weights), data, solvable_map_loss(task)


def measure_torch(params, data, model: ModelConfig, members, steps, repeats) -> dict:
    """Model-steps per second of the PyTorch peer, loop and ensemble, after checking that it
    computes the same logits and gradients as the JAX model."""
    import torch_peer
    from pacbound.model import apply
    from pacbound.train import sequence_loss

    tokens, mask = data["tokens"][0, :4], data["loss_mask"][0, :4]
    logits = torch_peer.forward_matches(params, tokens, apply(params, tokens, model), model.heads)
    grads = jax.grad(sequence_loss)(params, tokens, mask, model)
    gradient = torch_peer.gradient_matches(grads, params, tokens, mask, model.heads)
    config = OptimizerConfig(steps=steps, batch=16, learning_rate=1e-3, warmup_steps=0)
    rates = {}
    for name, make in (("loop", torch_peer.loop_trainer), ("vmap", torch_peer.ensemble_trainer)):
        train = make(params, data["tokens"], data["loss_mask"], model.heads, steps, config)
        rates[name] = members * steps / best_time(train, repeats)
    return {**rates, "logit_error": logits, "gradient_error": gradient}


def measure(name, params, data, step_loss, members, steps, repeats, strategy):
    """Model-steps/s of each way to train; "ensemble" (and the FLOP/s) is the engine under
    ``strategy``, the one the sweep uses for this model."""
    optimizer_config = OptimizerConfig(steps=steps, batch=16, learning_rate=1e-3, warmup_steps=0)
    optimizer = make_optimizer(optimizer_config)
    total = jnp.int32(steps)
    keys = jax.random.split(jax.random.PRNGKey(1), members)
    n = np.full(members, next(iter(data.values())).shape[1], dtype=np.int32)
    data = jax.tree.map(jnp.asarray, data)
    trainers = {s: make_ensemble_trainer(step_loss, optimizer_config, s) for s in MEMBER_STRATEGIES}

    run = jax.jit(make_run(step_loss, optimizer_config))
    member_data = [jax.tree.map(lambda x, m=m: x[m], data) for m in range(members)]

    def scan_loop():
        for m in range(members):
            jax.block_until_ready(run(params, keys[m], member_data[m], n[m], total))

    step = make_step(step_loss, optimizer_config)
    one_step = jax.jit(step)

    def step_loop():
        for m in range(members):
            state, opt_state = params, optimizer.init(params)
            for t in range(steps):
                key = jax.random.fold_in(keys[m], t)
                state, opt_state, _ = one_step(
                    state, opt_state, key, member_data[m], n[m], t, total
                )
            jax.block_until_ready(state)

    # XLA's cost analysis counts a scan's body once, so FLOPs are those of one ensemble step
    # (vmap of the single step) times the steps.
    opt_states = jax.vmap(optimizer.init)(jax.tree.map(lambda x: jnp.stack([x] * members), params))
    ensemble_step = jax.jit(jax.vmap(step, in_axes=(None, 0, 0, 0, 0, None, None)))
    lowered = ensemble_step.lower(params, opt_states, keys, data, n, 0, total)
    analysis = lowered.compile().cost_analysis()
    analysis = analysis[0] if isinstance(analysis, list) else analysis
    flops = analysis.get("flops", float("nan")) * steps
    t_ensemble = {
        s: best_time(lambda t=t: jax.block_until_ready(t(params, keys, data, n)), repeats)
        for s, t in trainers.items()
    }
    t_scan = best_time(scan_loop, repeats)
    t_step = best_time(step_loop, max(1, repeats // 2))
    model_steps = members * steps
    return {
        "model": name,
        **{s: model_steps / t for s, t in t_ensemble.items()},
        "ensemble": model_steps / t_ensemble[strategy],
        "scan_loop": model_steps / t_scan,
        "step_loop": model_steps / t_step,
        "flops_per_s": flops / t_ensemble[strategy],
    }


def measure_masking(params, data, step_loss, members, steps, repeats) -> dict[str, float]:
    """Seconds per useful model-step of one masked program, for three mixes of run lengths."""
    keys = jax.random.split(jax.random.PRNGKey(2), members)
    n = np.full(members, next(iter(data.values())).shape[1], dtype=np.int32)
    data = jax.tree.map(jnp.asarray, data)
    config = OptimizerConfig(steps=steps, batch=16, learning_rate=1e-3, warmup_steps=0)
    ensemble = jax.jit(jax.vmap(make_run(step_loss, config), in_axes=(None, 0, 0, 0, 0)))
    short = max(1, steps // 5)
    mixes = {
        "every member at the cap": np.full(members, steps),
        "every member at a fifth (one budget)": np.full(members, short),
        "all but one at a fifth (mixed budgets)": np.array([steps] + [short] * (members - 1)),
    }
    result = {}
    for name, steps_M in mixes.items():
        steps_M = jnp.asarray(steps_M, jnp.int32)
        seconds = best_time(
            lambda s=steps_M: jax.block_until_ready(ensemble(params, keys, data, n, s)), repeats
        )
        result[name] = seconds / int(steps_M.sum())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=16)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    quick = config.preset("quick")
    tiny = ModelConfig(
        vocab_size=quick.task.vocab_size, length=quick.task.length, layers=1, width=16, heads=2
    )
    cases = [
        (
            "quick transformer",
            quick.model,
            *language_case(quick.model, quick.task, args.members, 64),
        ),
        ("tiny transformer", tiny, *language_case(tiny, quick.task, args.members, 64)),
        ("solvable linear", None, *solvable_case(args.members, 256)),
    ]
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    peak = matmul_peak()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"jax {jax.__version__} on {jax.devices()[0].platform}, "
        f"torch {torch_version or 'not installed'}"
    )
    print(f"float32 matmul peak (1024², best of 5): {peak / 1e9:.1f} GFLOP/s")
    print(
        f"{args.members} members × {args.steps} steps each; ens = the strategy the sweep uses: "
        f"{member_strategy()} for the transformers, {SOLVABLE_MEMBERS} for the linear model\n"
    )
    print(
        f"{'model':<18} {'vmap':>9} {'map':>9} {'(a) scan':>9} {'(b) step':>9} {'(c) torch':>9} "
        f"{'(d) t.vmap':>10} {'ens/(a)':>7} {'ens/(b)':>7} {'ens/(c)':>7} {'ens/(d)':>7} "
        f"{'GFLOP/s':>8} {'of peak':>7}"
    )
    peers = []
    for name, model, params, data, step_loss in cases:
        strategy = member_strategy() if model is not None else SOLVABLE_MEMBERS
        r = measure(name, params, data, step_loss, args.members, args.steps, args.repeats, strategy)
        t = {"loop": float("nan"), "vmap": float("nan")}
        if model is not None and torch_version:
            t = measure_torch(params, data, model, args.members, args.steps, args.repeats)
            peers.append((name, t, r["flops_per_s"] / r["ensemble"]))
        print(
            f"{r['model']:<18} {r['vmap']:>9.0f} {r['map']:>9.0f} {r['scan_loop']:>9.0f} "
            f"{r['step_loop']:>9.0f} {t['loop']:>9.0f} {t['vmap']:>10.0f} "
            f"{r['ensemble'] / r['scan_loop']:>7.2f} {r['ensemble'] / r['step_loop']:>7.2f} "
            f"{r['ensemble'] / t['loop']:>7.2f} {r['ensemble'] / t['vmap']:>7.2f} "
            f"{r['flops_per_s'] / 1e9:>8.2f} {r['flops_per_s'] / peak:>7.1%}"
        )
    for name, t, flops_per_model_step in peers:
        print(
            f"  {name}, PyTorch: logits within {t['logit_error']:.1e} and gradients within "
            f"{t['gradient_error']:.1e} of JAX's; loop at "
            f"{t['loop'] * flops_per_model_step / peak:.1%} and vmap at "
            f"{t['vmap'] * flops_per_model_step / peak:.1%} of the matmul peak"
        )
    print("\n(model-steps per second; ratios measured in this run)")
    masking = measure_masking(*cases[0][2:], args.members, args.steps, args.repeats)
    reference = next(iter(masking.values()))
    print(
        f"\nmasked steps, quick transformer, members batched (vmap), cap {args.steps} steps, "
        "one compiled program:"
    )
    for name, seconds in masking.items():
        print(
            f"  {name:<40} {1e3 * seconds:8.2f} ms per useful model-step "
            f"({seconds / reference:.2f}× the first)"
        )


if __name__ == "__main__":
    main()
