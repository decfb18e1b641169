"""The quick transformer, its loss and its optimizer in PyTorch, as a user would write them.

The peer that ``bench_train.py`` measures pacbound's engine against: the same architecture
as ``pacbound.model`` (pre-norm RMSNorm blocks, rotary positions, causal attention, a tanh
GELU MLP, tied embeddings), started from the same parameters, the same masked next-token
cross-entropy on minibatches of 16 drawn with replacement, and AdamW (β = 0.9, 0.999,
ε = 1e-8, decoupled weight decay) after global-norm clipping with the same warm-up–cosine
rate. ``forward_matches`` checks it logit for logit against the JAX model.

Two ways to train M models: a plain loop (one ``nn.Module`` and one ``torch.optim.AdamW``
per model, a Python loop over steps), and an ensemble with ``torch.func`` (parameters stacked
over M, ``vmap(grad(...))`` of a functional call, one AdamW over the stacked tensors, which
is the same update per model because AdamW is elementwise; the clipping norm is per model).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap


class Transformer(nn.Module):
    """pacbound.model.apply in PyTorch, parameters named after the JAX pytree's leaves."""

    def __init__(self, jax_params: dict, heads: int):
        super().__init__()
        self.heads = heads
        tensor = lambda x: nn.Parameter(torch.tensor(np.asarray(x)))  # noqa: E731
        self.embed_VxD = tensor(jax_params["embed_VxD"])
        self.final_norm_D = tensor(jax_params["final_norm_D"])
        self.blocks = nn.ModuleList()
        for block in jax_params["blocks"]:
            module = nn.Module()
            for name, value in block.items():
                setattr(module, name, tensor(value))
            self.blocks.append(module)

    @staticmethod
    def _rms_norm(x, scale):
        return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + 1e-6) * scale

    @staticmethod
    def _rope(x_BxLxHxK):
        length, half = x_BxLxHxK.shape[1], x_BxLxHxK.shape[-1] // 2
        frequencies = 1.0 / (10_000 ** (torch.arange(half) / half))
        angles = torch.arange(length)[:, None] * frequencies[None, :]
        cos, sin = angles.cos()[None, :, None, :], angles.sin()[None, :, None, :]
        first, second = x_BxLxHxK[..., :half], x_BxLxHxK[..., half:]
        return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)

    def _attention(self, block, x):
        batch, length, width = x.shape
        head_width = width // self.heads
        q, k, v = (
            part.reshape(batch, length, self.heads, head_width)
            for part in (x @ block.qkv_Dx3D).split(width, dim=-1)
        )
        q, k = self._rope(q), self._rope(k)
        scores = torch.einsum("bqhk,bshk->bhqs", q, k) / math.sqrt(head_width)
        causal = torch.ones(length, length, dtype=torch.bool).tril()
        scores = scores.masked_fill(~causal, torch.finfo(scores.dtype).min)
        mixed = torch.einsum("bhqs,bshk->bqhk", scores.softmax(-1), v)
        return mixed.reshape(batch, length, width) @ block.out_DxD

    def forward(self, tokens_BxL):
        x = self.embed_VxD[tokens_BxL]
        for block in self.blocks:
            x = x + self._attention(block, self._rms_norm(x, block.attn_norm_D))
            hidden = nn.functional.gelu(
                self._rms_norm(x, block.mlp_norm_D) @ block.up_DxF, approximate="tanh"
            )
            x = x + hidden @ block.down_FxD
        return self._rms_norm(x, self.final_norm_D) @ self.embed_VxD.T


def sequence_loss(logits_BxLxV, tokens_BxL, mask_BxL):
    """Mean next-token cross-entropy over the masked positions (pacbound.train's)."""
    targets = tokens_BxL.roll(-1, dims=1)
    losses = nn.functional.cross_entropy(
        logits_BxLxV.flatten(0, 1), targets.flatten(), reduction="none"
    ).view_as(targets)
    return (losses * mask_BxL).sum() / mask_BxL.sum().clamp(min=1.0)


def rate(peak: float, warmup: int, step: int, total: int) -> float:
    """pacbound.train.learning_rate: linear warm-up, cosine decay to 10% at ``total``."""
    if step < warmup:
        return peak * step / max(warmup, 1)
    progress = min(max((step - warmup) / max(total - warmup, 1), 0.0), 1.0)
    return 0.1 * peak + 0.9 * peak * 0.5 * (1 + math.cos(math.pi * progress))


def forward_matches(jax_params, tokens_BxL, jax_logits, heads: int) -> float:
    """The largest absolute difference of the two models' logits on the same tokens."""
    model = Transformer(jax_params, heads)
    with torch.no_grad():
        logits = model(torch.tensor(np.asarray(tokens_BxL), dtype=torch.long)).numpy()
    return float(np.abs(logits - np.asarray(jax_logits)).max())


def gradient_matches(jax_grads, jax_params, tokens_BxL, mask_BxL, heads: int) -> float:
    """The largest absolute difference of the two gradients of the loss on one batch."""
    import jax

    model = Transformer(jax_params, heads)
    tokens = torch.tensor(np.asarray(tokens_BxL), dtype=torch.long)
    mask = torch.tensor(np.asarray(mask_BxL), dtype=torch.float32)
    sequence_loss(model(tokens), tokens, mask).backward()
    flat_jax = jax.tree_util.tree_leaves_with_path(jax_grads)
    named = dict(model.named_parameters())
    worst = 0.0
    for path, value in flat_jax:
        keys = [getattr(k, "key", getattr(k, "idx", None)) for k in path]
        name = ".".join(str(k) for k in keys)  # e.g. blocks.0.qkv_Dx3D, as nn.Module names it
        worst = max(worst, float(np.abs(named[name].grad.numpy() - np.asarray(value)).max()))
    return worst


def loop_trainer(jax_params, tokens_MxNxL, mask_MxNxL, heads, steps, optimizer_config):
    """The plain loop: one model and one AdamW per member, a Python loop over steps."""
    c = optimizer_config
    tokens = torch.tensor(np.asarray(tokens_MxNxL), dtype=torch.long)
    mask = torch.tensor(np.asarray(mask_MxNxL), dtype=torch.float32)
    generator = torch.Generator().manual_seed(0)

    def train():
        for m in range(tokens.shape[0]):
            model = Transformer(jax_params, heads)
            optimizer = torch.optim.AdamW(
                model.parameters(), lr=c.learning_rate, weight_decay=c.weight_decay, eps=1e-8
            )
            n = tokens.shape[1]
            for t in range(steps):
                rows = torch.randint(0, n, (c.batch,), generator=generator)
                loss = sequence_loss(model(tokens[m, rows]), tokens[m, rows], mask[m, rows])
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), c.clip_norm)
                for group in optimizer.param_groups:
                    group["lr"] = rate(c.learning_rate, c.warmup_steps, t, steps)
                optimizer.step()

    return train


def ensemble_trainer(jax_params, tokens_MxNxL, mask_MxNxL, heads, steps, optimizer_config):
    """The torch.func ensemble: stacked parameters, vmap(grad) of a functional call."""
    c = optimizer_config
    tokens = torch.tensor(np.asarray(tokens_MxNxL), dtype=torch.long)
    mask = torch.tensor(np.asarray(mask_MxNxL), dtype=torch.float32)
    members, n = tokens.shape[:2]
    model = Transformer(jax_params, heads)
    generator = torch.Generator().manual_seed(0)

    def loss(params, tokens_BxL, mask_BxL):
        return sequence_loss(functional_call(model, params, (tokens_BxL,)), tokens_BxL, mask_BxL)

    gradients = vmap(grad(loss))

    def train():
        stacked = {
            name: p.detach().unsqueeze(0).repeat(members, *[1] * p.dim()).requires_grad_()
            for name, p in model.named_parameters()
        }
        optimizer = torch.optim.AdamW(
            list(stacked.values()), lr=c.learning_rate, weight_decay=c.weight_decay, eps=1e-8
        )
        member_index = torch.arange(members)[:, None]
        for t in range(steps):
            rows = torch.randint(0, n, (members, c.batch), generator=generator)
            batch_tokens, batch_mask = tokens[member_index, rows], mask[member_index, rows]
            grads = gradients({k: v.detach() for k, v in stacked.items()}, batch_tokens, batch_mask)
            # Global-norm clipping per member (optax.clip_by_global_norm of each model).
            norm = torch.sqrt(sum(g.flatten(1).square().sum(1) for g in grads.values()))
            scale = (c.clip_norm / torch.clamp(norm, min=c.clip_norm)).detach()
            for name, p in stacked.items():
                p.grad = grads[name] * scale.view(-1, *[1] * (p.dim() - 1))
            for group in optimizer.param_groups:
                group["lr"] = rate(c.learning_rate, c.warmup_steps, t, steps)
            optimizer.step()

    return train
