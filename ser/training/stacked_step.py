"""The parts of a stacked step in ``ser.training.stacked``: dropout masks replayed from the
seeds' own draws, a function mapped over the seeds (``vmap`` or a loop, :func:`per_seed`),
packed masks unpacked on the device, and the optimizers on every seed's flattened parameters
(:class:`StackedOptimizer`).
"""
from __future__ import annotations

from math import prod
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn as nn
from torch.func import vmap

from ser.training.seed_runs import StepGroup

BIT_SHIFTS = (7, 6, 5, 4, 3, 2, 1, 0)  # numpy's packbits puts an array's first element in the top bit


class DropoutFeed:
    """The masks of one forward pass, handed to the dropout layers in the order they run."""

    def __init__(self):
        self.queue: list[torch.Tensor] = []

    def next(self) -> torch.Tensor:
        if not self.queue:
            raise RuntimeError("a dropout layer ran more often than the probe forward pass saw")
        return self.queue.pop(0)


class ReplayedDropout(nn.Module):
    """``nn.Dropout`` whose mask is given: F.dropout multiplies by bernoulli(1 - p) / (1 - p)."""

    def __init__(self, p: float, feed: DropoutFeed):
        super().__init__()
        self.p, self.feed = p, feed

    def forward(self, x):
        if not self.training:
            return x
        return x * self.feed.next().to(x.dtype)


def dropout_calls(model: nn.Module, shape: tuple[int, int]) -> list[tuple[float, tuple[int, ...]]]:
    """(p, per-sample input shape) of every dropout call of one forward pass, in order."""
    calls, hooks = [], []
    for module in model.modules():
        if type(module) is nn.Dropout and module.p > 0:
            hooks.append(module.register_forward_pre_hook(
                lambda module, inputs: calls.append((module.p, tuple(inputs[0].shape[1:])))))
    was_training = model.training
    model.eval()  # same shapes, no draws, no BatchNorm update
    with torch.no_grad():
        model(torch.zeros(1, 1, *shape))
    model.train(was_training)
    for hook in hooks:
        hook.remove()
    return calls


def seed_slice(value, k: int):
    """Seed ``k``'s part of a stacked argument: a tensor's row k, or the rows of a dict's or a
    list's tensors."""
    if isinstance(value, dict):
        return {name: tensor[k] for name, tensor in value.items()}
    if isinstance(value, (list, tuple)):
        return [tensor[k] for tensor in value]
    return value[k]


def per_seed(fn: Callable[..., torch.Tensor], in_dims: tuple[int | None, ...], vectorize: bool) -> Callable:
    """``vmap(fn, in_dims)`` over the seeds (dimension 0 of the arguments whose in_dim is 0), or
    the same map as a loop that calls ``fn`` once per seed and stacks its results."""
    if vectorize:
        return vmap(fn, in_dims=in_dims)

    def looped(*args):
        seeds = next(len(next(iter(a.values()))) if isinstance(a, dict) else len(a)
                     for a, d in zip(args, in_dims) if d == 0)
        return torch.stack([fn(*(a if d is None else seed_slice(a, k) for a, d in zip(args, in_dims)))
                            for k in range(seeds)])
    return looped


def unpack_masks(packed: torch.Tensor, per_sample: tuple[int, ...], scale: torch.Tensor,
            shifts: torch.Tensor) -> torch.Tensor:
    """(G, b, bytes) packed bits -> (G, b, *per_sample) masks of 0 and ``scale``."""
    bits = packed.unsqueeze(-1).bitwise_right_shift(shifts).bitwise_and_(1).flatten(-2)
    return bits[..., :prod(per_sample)].view(*packed.shape[:2], *per_sample).float() * scale


class StackedOptimizer:
    """``ser.training.engine.make_optimizer``'s Adam, SGD or AdamW on every seed's parameters flattened
    into one row of a (K, P) tensor, with the same hyper-parameters and the same elementwise
    arithmetic as torch.optim's per-tensor update (a handful of kernels per step for all
    parameters of all seeds); each seed has its own step count, and a step touches only the
    seeds of its group."""

    def __init__(self, name: str, hyper: dict, params: torch.Tensor):
        self.name = name
        self.hyper = hyper
        self.steps = [0] * len(params)
        # A zero momentum buffer makes SGD's first update buf = 0 * momentum + grad = grad
        # exactly, as torch's copy of the first gradient does.
        self.slots = {slot: torch.zeros_like(params, requires_grad=False)
                      for slot in (("momentum",) if name == "sgd" else ("exp_avg", "exp_avg_sq"))}

    def bias_corrections(self, steps: Sequence[int], lr: float) -> tuple[np.ndarray, np.ndarray]:
        """Adam's -step size and sqrt(1 - β2^t) for seeds at steps ``t``, computed in double
        as torch does and rounded to float32 as its scalar arguments are."""
        beta1, beta2 = self.hyper["betas"]
        t = np.asarray(steps, dtype=np.float64)
        return (-(lr / (1 - beta1 ** t))).astype(np.float32), ((1 - beta2 ** t) ** 0.5).astype(np.float32)

    @torch.no_grad()
    def update(self, group: StepGroup, params: torch.Tensor, grad: torch.Tensor, lr: float) -> None:
        """Update the group's rows ``params`` (G, P) from their gradients: the stacked tensor
        itself when the group is all seeds, else a gathered copy the caller scatters back."""
        gathered = group.index is not None
        state = {slot: tensor[group.index] if gathered else tensor for slot, tensor in self.slots.items()}
        if self.name == "sgd":
            self._sgd(params, grad, state["momentum"], lr)
        else:
            self._adam(params, grad, state["exp_avg"], state["exp_avg_sq"], lr,
                       group.step_size.unsqueeze(1), group.bias2_root.unsqueeze(1))
        if gathered:
            for slot, tensor in state.items():
                self.slots[slot].index_copy_(0, group.index, tensor)
        for seed in group.seeds:
            self.steps[seed] += 1

    def _sgd(self, param, grad, momentum, lr):
        grad = grad.add(param, alpha=self.hyper["weight_decay"])
        momentum.mul_(self.hyper["momentum"]).add_(grad)
        param.add_(grad.add(momentum, alpha=self.hyper["momentum"]), alpha=-lr)  # Nesterov

    def _adam(self, param, grad, exp_avg, exp_avg_sq, lr, step_size, bias2_root):
        beta1, beta2 = self.hyper["betas"]
        decay = self.hyper["weight_decay"]
        if self.name == "adamw" and decay:
            param.mul_(1 - lr * decay)
        elif decay:
            grad = grad.add(param, alpha=decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (exp_avg_sq.sqrt() / bias2_root).add_(self.hyper["eps"])
        # torch's addcdiv_(exp_avg, denom, value=-step) computes (value * exp_avg) / denom
        param.add_(step_size * exp_avg / denom)
