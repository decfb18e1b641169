"""A tiny decoder-only transformer as a plain pytree of arrays.

``init_params(key, config)`` returns a dict of arrays; ``apply(params, tokens_BxL, config)``
returns logits_BxLxV. Nothing is stateful, so a model can be ``vmap``-ed over an ensemble
axis and ``jit``-ed with its training step. Pre-norm blocks (RMSNorm), causal multi-head
attention, a GELU MLP, input and output embeddings tied (the output layer reuses the token
embedding, which small models of these tasks need to copy names reliably).

The position encoding is configurable because it decides how a model extrapolates to
longer problems: "rope" (rotary, relative), "learned" (absolute, one vector per position)
or "none" (the causal mask alone carries order).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

POSITIONS = ("rope", "learned", "none")


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    length: int  # L, the context length
    layers: int = 3
    width: int = 64  # D
    heads: int = 4  # H; D must be a multiple of H
    mlp_ratio: int = 4
    position: str = "rope"
    dtype: str = "float32"

    def __post_init__(self):
        if self.position not in POSITIONS:
            raise ValueError(f"position = {self.position!r} is not one of {', '.join(POSITIONS)}")
        if self.width % self.heads:
            raise ValueError(f"width = {self.width} is not a multiple of heads = {self.heads}")
        if self.position == "rope" and (self.width // self.heads) % 2:
            raise ValueError("rope needs an even head width (width // heads)")
        for name in ("vocab_size", "length", "layers", "width", "heads", "mlp_ratio"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"{name} = {getattr(self, name)} is out of range: allowed [1, inf)"
                )


def init_params(key: jax.Array, config: ModelConfig) -> dict:
    """Parameters as a dict pytree; matrices scaled by 1/√fan_in, residual outputs by depth."""
    dtype = jnp.dtype(config.dtype)
    width, hidden = config.width, config.width * config.mlp_ratio
    keys = jax.random.split(key, 2 + config.layers)

    def dense(k, fan_in, fan_out, scale=1.0):
        return (jax.random.normal(k, (fan_in, fan_out)) * scale / jnp.sqrt(fan_in)).astype(dtype)

    residual_scale = 1.0 / jnp.sqrt(2.0 * config.layers)
    blocks = []
    for layer_key in keys[2:]:
        k_qkv, k_out, k_up, k_down = jax.random.split(layer_key, 4)
        blocks.append(
            {
                "attn_norm_D": jnp.ones(width, dtype),
                "qkv_Dx3D": dense(k_qkv, width, 3 * width),
                "out_DxD": dense(k_out, width, width, residual_scale),
                "mlp_norm_D": jnp.ones(width, dtype),
                "up_DxF": dense(k_up, width, hidden),
                "down_FxD": dense(k_down, hidden, width, residual_scale),
            }
        )
    params = {
        "embed_VxD": (jax.random.normal(keys[0], (config.vocab_size, width)) * 0.02).astype(dtype),
        "blocks": blocks,
        "final_norm_D": jnp.ones(width, dtype),
    }
    if config.position == "learned":
        params["positions_LxD"] = (
            jax.random.normal(keys[1], (config.length, width)) * 0.02
        ).astype(dtype)
    return params


def _rms_norm(x_BxLxD, scale_D):
    variance = jnp.mean(jnp.square(x_BxLxD), axis=-1, keepdims=True)
    return x_BxLxD * jax.lax.rsqrt(variance + 1e-6) * scale_D


def _rope(x_BxLxHxK):
    """Rotary position encoding over the last axis (pairs of features), positions 0 … L−1."""
    length, half = x_BxLxHxK.shape[1], x_BxLxHxK.shape[-1] // 2
    frequencies_K2 = 1.0 / (10_000 ** (jnp.arange(half) / half))
    angles_LxK2 = jnp.arange(length)[:, None] * frequencies_K2[None, :]
    cos, sin = jnp.cos(angles_LxK2)[None, :, None, :], jnp.sin(angles_LxK2)[None, :, None, :]
    first, second = x_BxLxHxK[..., :half], x_BxLxHxK[..., half:]
    rotated = jnp.concatenate([first * cos - second * sin, first * sin + second * cos], axis=-1)
    return rotated.astype(x_BxLxHxK.dtype)


def _attention(block, x_BxLxD, config: ModelConfig):
    batch, length, width = x_BxLxD.shape
    heads, head_width = config.heads, width // config.heads
    qkv = x_BxLxD @ block["qkv_Dx3D"]
    q_BxLxHxK, k_BxLxHxK, v_BxLxHxK = (
        part.reshape(batch, length, heads, head_width) for part in jnp.split(qkv, 3, axis=-1)
    )
    if config.position == "rope":
        q_BxLxHxK, k_BxLxHxK = _rope(q_BxLxHxK), _rope(k_BxLxHxK)
    scores_BxHxLxL = jnp.einsum("bqhk,bshk->bhqs", q_BxLxHxK, k_BxLxHxK) / jnp.sqrt(head_width)
    causal_LxL = jnp.tril(jnp.ones((length, length), dtype=bool))
    scores_BxHxLxL = jnp.where(causal_LxL, scores_BxHxLxL, jnp.finfo(scores_BxHxLxL.dtype).min)
    weights_BxHxLxL = jax.nn.softmax(scores_BxHxLxL, axis=-1)
    mixed_BxLxHxK = jnp.einsum("bhqs,bshk->bqhk", weights_BxHxLxL, v_BxLxHxK)
    return mixed_BxLxHxK.reshape(batch, length, width) @ block["out_DxD"]


def apply(params: dict, tokens_BxL: jax.Array, config: ModelConfig) -> jax.Array:
    """logits_BxLxV: position t scores the token at t + 1, seeing tokens ≤ t only."""
    x_BxLxD = params["embed_VxD"][tokens_BxL]
    if config.position == "learned":
        x_BxLxD = x_BxLxD + params["positions_LxD"][None, : tokens_BxL.shape[1]]
    for block in params["blocks"]:
        x_BxLxD = x_BxLxD + _attention(block, _rms_norm(x_BxLxD, block["attn_norm_D"]), config)
        hidden = jax.nn.gelu(_rms_norm(x_BxLxD, block["mlp_norm_D"]) @ block["up_DxF"])
        x_BxLxD = x_BxLxD + hidden @ block["down_FxD"]
    x_BxLxD = _rms_norm(x_BxLxD, params["final_norm_D"])
    return x_BxLxD @ params["embed_VxD"].T  # tied output layer


def parameter_count(params: dict) -> int:
    return sum(x.size for x in jax.tree_util.tree_leaves(params))
