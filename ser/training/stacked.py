"""Many seeds of one training configuration in one process, in lockstep.

A sweep trains the same model with the same options for many seeds. Run one by one, a GLAM
step at batch 32 is a few hundred tiny kernels and the accelerator mostly waits. Here the K
seeds' models are stacked (``torch.func.stack_module_state``) and on a GPU every step runs as
one ``vmap``-ed forward and backward over the seeds, so each kernel does the work of K seeds
(on a CPU, which has no idle kernels to fill, the seeds of a step run one after the other on
the same stacked weights; ``MultiSeedOptions.vectorize``), while every seed trains exactly as
its solo run of ``ser.training.engine.fit`` would:

- **Its own data.** One copy of the features serves all seeds: the training segments of the
  whole corpus as one :class:`SegmentPool`, each seed holding the rows of its training set in
  the order a solo run stacks them (and its test and validation utterances as rows of the
  scoring pool with per-utterance owners, :class:`ScoredRows`).
- **Its own random streams.** A solo run draws from torch's global CPU generator (the initial
  weights; per epoch the shuffling DataLoader's two seeds; per batch the mixup partner
  permutation, then the dropout masks during the forward) and from its numpy RandomState (the
  split, then one mixup λ per batch). Each seed here has a ``torch.Generator`` that stands for
  its global generator and its RandomState, and draws from them in the solo order. All draws
  of an epoch are made on the CPU before it starts and moved to the device at once, dropout
  masks packed to one bit per element, so no step waits for the host.
- **Its own updates.** Seeds with training sets of different sizes have different numbers of
  batches and different last batches. At every step the seeds are grouped by their batch size
  (nearly always one group of full batches; last batches form small extra groups), and each
  group is one batched step on its seeds' rows of the stacked weights: no padding, so
  BatchNorm sees exactly the seed's batch. A seed whose epoch is over is in no group and is
  untouched: no forward, no BatchNorm update, no optimizer step and no step count.
- **Its own optimizer state**: the engine's Adam, SGD and AdamW (same hyper-parameters, same
  arithmetic) on stacked tensors with a step count per seed; the learning-rate schedule is the
  engine's, shared, since every seed runs the same epochs.

Same draws, close numbers: a batched convolution sums in another order than a plain one, so
gradients agree with a solo run's to float rounding and weights drift apart slowly over a run
(tests/test_multiseed.py measures how close). Adam divides each gradient entry by its own
size, so an entry at rounding level (the bias of a convolution in front of a training-mode
BatchNorm, whose gradient is zero in exact arithmetic) takes a step of up to the learning rate
in a direction no two summation orders agree on; a solo run on 2 threads differs from the same
run on 1 thread in the same way.

On CUDA a solo run still draws its shuffling and mixup permutations on the CPU, so they match;
its dropout masks come from the CUDA generator, which this engine does not replay: the AA
models' masks here are those of a solo CPU run.

What the run is given and what each seed draws (options, segment pools, seed runs, epoch plans)
is ``ser.training.seed_runs``; the parts of a step (dropout replay, :func:`per_seed`, the stacked
optimizers) are ``ser.training.stacked_step``; this module holds the trainer and :func:`fit_seeds`.

    from ser.training.seed_runs import MultiSeedOptions, SeedRun, SegmentPool
    from ser.training.stacked import fit_seeds
    train_pool = SegmentPool.from_utterances(train_feats, labels, shape)  # every usable utterance
    test_pool = SegmentPool.from_utterances(test_feats, labels, shape)
    runs = []
    for seed in seeds:
        rng = seed_everything(seed)
        split = make_split(...)  # draws from rng, as the solo run does
        runs.append(SeedRun(seed, rng, train_pool.train_rows(split.train), test_pool.scored(split.test)))
    results = fit_seeds("GLAM", shape, 4, runs, train_pool, test_pool, device,
                        MultiSeedOptions(epochs=50, batch_size=32))
"""
from __future__ import annotations

import copy
from math import prod
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state

import models
from ser.training import engine
from ser.training.engine import FitResult
from ser.training.frames import rows_on_device
from ser.training.metrics import autocast, scoring_batch_size
from ser.training.seed_runs import (
    EpochLosses,
    EpochPlan,
    MultiSeedError,
    MultiSeedOptions,
    ScoredRows,
    SeedDraws,
    SeedRun,
    SegmentPool,
    StepGroup,
)
from ser.training.stacked_step import (
    BIT_SHIFTS,
    DropoutFeed,
    ReplayedDropout,
    StackedOptimizer,
    dropout_calls,
    per_seed,
    seed_slice,
    unpack_masks,
)

# The models this engine trains are those whose registry entry says ``stackable``: every model
# built from the GLAM and MACNN trunks (tests/test_multiseed.py checks each one's batched step
# against its solo step). Seed 004's alexnet models are not (see models/alexnet.py).


def stackable_models() -> list[str]:
    """The registered models whose entry says the K-seed engine trains them."""
    return [name for name in models.list_models() if models.model_entry(name).stackable]


def supported(model_name: str, model_options: Mapping[str, object] | None = None) -> bool:
    """Whether :func:`fit_seeds` trains ``model_name`` built with ``model_options`` (keyword
    arguments of ``models.create_model``); otherwise train the seeds one at a time."""
    try:
        name = models.resolve_name(model_name)
    except ValueError:
        return False
    return models.model_entry(name).stackable and set(model_options or {}) <= set(models.model_options(name))


class MultiSeedTrainer:
    """K seeds of one configuration, stacked: the K-seed ``ser.training.engine.Stepper`` that
    ``ser.training.engine.train_epochs`` drives (see :func:`fit_seeds`).

    Building it makes each seed's initial weights from its generator exactly as
    ``models.create_model`` does in a solo run. :meth:`plan_epoch`, :meth:`train_step` and
    :meth:`run_epoch` expose one epoch step by step.
    """

    def __init__(self, model_name: str, shape: tuple[int, int], num_classes: int, runs: Sequence[SeedRun],
                 train_pool: SegmentPool, eval_pool: SegmentPool, device: torch.device, options: MultiSeedOptions,
                 model_options: Mapping[str, object] | None = None):
        _check(model_name, model_options, runs, train_pool, eval_pool, num_classes)
        self.runs, self.device, self.options = list(runs), device, options
        self.vectorize = device.type != "cpu" if options.vectorize is None else options.vectorize
        self.validated = runs[0].validation is not None  # the stepper's: test is scored once, at the end
        self.num_classes = num_classes  # a registered model need not carry its class count
        nets = []
        for run in self.runs:
            # The solo run builds its model straight after seeding torch's global generator.
            with torch.random.fork_rng(devices=[]):
                torch.set_rng_state(run.generator.get_state())
                nets.append(models.create_model(model_name, shape=shape, num_classes=num_classes,
                                                **(model_options or {})))
                run.generator.set_state(torch.get_rng_state())
        self.dropout_calls = dropout_calls(nets[0], shape)
        self.feed = DropoutFeed()
        self.template = copy.deepcopy(nets[0]).to("meta")
        for name, module in list(self.template.named_modules()):
            if type(module) is nn.Dropout and module.p > 0:
                self.template.set_submodule(name, ReplayedDropout(module.p, self.feed))
        self.keys = list(nets[0].state_dict())
        params, buffers = stack_module_state(nets)
        # Every seed's parameters flattened into one row, so that the optimizer updates all of
        # them in a few kernels; the model sees them as views.
        self.layout = [(n, tuple(p.shape[1:])) for n, p in params.items()]
        self.flat = torch.cat([p.detach().reshape(len(nets), -1) for p in params.values()], dim=1)
        self.flat = self.flat.to(device).requires_grad_()
        self.buffers = {n: b.to(device) for n, b in buffers.items()}
        # The schedule is the engine's own, on an optimizer holding one parameter that never has
        # a gradient: its lr is every seed's lr, and its hyper-parameters are the update's.
        self.schedule_optimizer = engine.make_optimizer(options.optimizer, [torch.zeros(1, requires_grad=True)],
                                                        options.lr)
        self.scheduler = engine.make_scheduler(options.lr_schedule, self.schedule_optimizer)
        self.schedule_optimizer.step()  # a no-op that tells the scheduler the optimizer has stepped
        self.optimizer = StackedOptimizer(options.optimizer, self.schedule_optimizer.param_groups[0], self.flat)
        # an upstream's frames stay ragged, each step's rows padded to their longest (ser.training.frames)
        self.train_X = rows_on_device(train_pool.X, device)
        self.train_y = torch.from_numpy(train_pool.y).to(device)
        self.eval_X = rows_on_device(eval_pool.X, device)
        self.class_weights = (None if runs[0].class_weights is None else
                              torch.stack([run.class_weights.float() for run in runs]).to(device))
        self.dropout_scales = [torch.ones(1).div_(1 - p).to(device) for p, _ in self.dropout_calls]
        self.bit_shifts = torch.tensor(BIT_SHIFTS, dtype=torch.uint8, device=device)

    def named(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of (G, P) flattened rows as the model's (G, *shape) parameters."""
        views, start = {}, 0
        for name, shape in self.layout:
            views[name] = flat[:, start:start + prod(shape)].view(-1, *shape)
            start += prod(shape)
        return views

    @property
    def params(self) -> dict[str, torch.Tensor]:
        """The stacked parameters, (K, *shape) views of the flat rows."""
        return self.named(self.flat)

    @property
    def lr(self) -> float:
        return self.schedule_optimizer.param_groups[0]["lr"]

    def draw(self, run: SeedRun) -> SeedDraws:
        """One seed's draws for the next epoch, in the order its solo run makes them."""
        g, batch_size, alpha = run.generator, self.options.batch_size, self.options.alpha
        n = len(run.train)
        # ser.training.engine.epoch_permutation on the seed's generator: the loader iterator's base seed
        # (unused), the sampler's seed, then randperm on a private generator with that seed.
        torch.empty((), dtype=torch.int64).random_(generator=g)
        sampler = torch.Generator().manual_seed(int(torch.empty((), dtype=torch.int64).random_(generator=g)))
        draws = SeedDraws(order=torch.randperm(n, generator=sampler).numpy(), lams=[], partners=[], masks=[])
        for start in range(0, n, batch_size):
            b = min(batch_size, n - start)
            if alpha > 0:
                draws.lams.append(float(run.rng.beta(alpha, alpha)))
                draws.partners.append(torch.randperm(b, generator=g).numpy())
            # F.dropout draws bernoulli(1 - p) over its input during the forward, after the partner
            draws.masks.append([np.packbits(torch.empty((b, *per_sample)).bernoulli_(1 - p, generator=g)
                                            .numpy().astype(bool).reshape(b, -1), axis=1)
                                for p, per_sample in self.dropout_calls])
        return draws

    def plan_epoch(self) -> EpochPlan:
        """Draw the next epoch for every seed and lay its steps out on the device."""
        batch_size, mixing = self.options.batch_size, self.options.alpha > 0
        draws = [self.draw(run) for run in self.runs]
        sizes = [len(run.train) for run in self.runs]
        batches = [-(-n // batch_size) for n in sizes]
        everyone = list(range(len(self.runs)))
        layout = []  # per step: (batch size, seeds) groups
        for step in range(max(batches)):
            groups: dict[int, list[int]] = {}
            for k, n in enumerate(sizes):
                if step < batches[k]:
                    groups.setdefault(min(batch_size, n - step * batch_size), []).append(k)
            layout.append(sorted(groups.items(), reverse=True))
        parts: dict[str, list[np.ndarray]] = {"seeds": [], "rows": [], "lam": [], "rest": [], "partner": [],
                                              "step_size": [], "bias2_root": [],
                                              **{f"mask{c}": [] for c in range(len(self.dropout_calls))}}
        for step, groups in enumerate(layout):
            for b, seeds in groups:
                start = step * batch_size
                parts["seeds"].append(np.array(seeds, dtype=np.int64))
                parts["rows"].append(np.stack([self.runs[k].train[draws[k].order[start:start + b]] for k in seeds]))
                if mixing:
                    lam = np.array([draws[k].lams[step] for k in seeds])
                    # λ and 1 - λ are doubles in the solo run, rounded to float32 where they meet a tensor
                    parts["lam"].append(lam.astype(np.float32))
                    parts["rest"].append((1 - lam).astype(np.float32))
                    parts["partner"].append(np.stack([draws[k].partners[step] for k in seeds]))
                if self.options.optimizer != "sgd":
                    step_size, bias2_root = self.optimizer.bias_corrections(
                        [self.optimizer.steps[k] + step + 1 for k in seeds], self.lr)
                    parts["step_size"].append(step_size)
                    parts["bias2_root"].append(bias2_root)
                for c in range(len(self.dropout_calls)):
                    parts[f"mask{c}"].append(np.stack([draws[k].masks[step][c] for k in seeds]))
        # one transfer per kind of draw for the whole epoch; groups are views into it
        flat = {key: engine.to_device(torch.from_numpy(np.concatenate([a.reshape(-1) for a in arrays])), self.device)
                for key, arrays in parts.items() if arrays}
        offsets = dict.fromkeys(flat, 0)

        def take(key: str, shape: tuple[int, ...]) -> torch.Tensor | None:
            if key not in flat:
                return None
            count = prod(shape)
            part = flat[key][offsets[key]:offsets[key] + count].view(shape)
            offsets[key] += count
            return part

        steps = []
        for groups in layout:
            step_groups = []
            for b, seeds in groups:
                g = len(seeds)
                index = take("seeds", (g,))
                step_groups.append(StepGroup(
                    seeds=seeds, index=None if seeds == everyone else index, rows=take("rows", (g, b)),
                    lam=take("lam", (g,)), rest=take("rest", (g,)), partner=take("partner", (g, b)),
                    masks=[take(f"mask{c}", (g, b, -(-prod(per_sample) // 8)))
                           for c, (_, per_sample) in enumerate(self.dropout_calls)],
                    step_size=take("step_size", (g,)), bias2_root=take("bias2_root", (g,))))
            steps.append(step_groups)
        return EpochPlan(draws=draws, steps=steps)

    def _seed_loss(self, params, buffers, x, y, lam, rest, partner, masks, weight):
        """One seed's batch loss (mapped over the seeds by :func:`per_seed`): ``ser.training.engine.
        mixup_loss`` with its λ, partner and dropout masks given."""
        self.feed.queue = list(masks)
        if partner is None:
            loss = F.cross_entropy(functional_call(self.template, (params, buffers), (x,)), y, weight=weight)
        else:
            out = functional_call(self.template, (params, buffers), (lam * x + rest * x[partner],))
            loss = lam * F.cross_entropy(out, y, weight=weight) + rest * F.cross_entropy(out, y[partner], weight=weight)
        if self.feed.queue:
            raise RuntimeError("a dropout layer ran less often than the probe forward pass saw")
        return loss

    def train_step(self, groups: Sequence[StepGroup]) -> list[torch.Tensor]:
        """One step: each group's seeds take their batch (forward, backward, optimizer step);
        returns each group's (G,) losses, on the device."""
        self.template.train()
        losses = []
        for group in groups:
            gathered = group.index is not None
            if gathered:
                flat = self.flat.detach()[group.index].requires_grad_()
                buffers = {n: b[group.index] for n, b in self.buffers.items()}
            else:
                flat, buffers = self.flat, self.buffers
            masks = [unpack_masks(packed, per_sample, scale, self.bit_shifts) for packed, (_, per_sample), scale
                     in zip(group.masks, self.dropout_calls, self.dropout_scales)]
            weight = self.class_weights
            if weight is not None and gathered:
                weight = weight[group.index]
            mixing = group.partner is not None
            in_dims = (0, 0, 0, 0, 0 if mixing else None, 0 if mixing else None, 0 if mixing else None, 0,
                       None if weight is None else 0)
            # what follows the parameters, buffers and batch in _seed_loss's arguments
            others = (self.train_y[group.rows], group.lam, group.rest, group.partner, masks, weight)
            if self.vectorize:
                with autocast(self.device, self.options.amp):
                    loss = per_seed(self._seed_loss, in_dims, True)(
                        self.named(flat), buffers, self.train_X[group.rows].unsqueeze(2), *others)
                grad, = torch.autograd.grad(loss.sum(), flat)
            else:
                loss, grad = self._looped_gradients(flat, buffers, group.rows, others, in_dims[3:])
            self.optimizer.update(group, flat, grad, self.lr)
            if gathered:
                with torch.no_grad():
                    self.flat.index_copy_(0, group.index, flat)
                    for n in self.buffers:
                        self.buffers[n].index_copy_(0, group.index, buffers[n])
            losses.append(loss.detach())
        return losses

    def _looped_gradients(self, flat: torch.Tensor, buffers: dict[str, torch.Tensor], rows_of_seeds: torch.Tensor,
                          others: tuple, in_dims: tuple[int | None, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """The (G,) losses and (G, P) gradients of the group's seeds, one seed's forward and
        backward after the other (the CPU's way). Each seed's graph is freed before the next is
        built, so a step holds one seed's activations, as a solo step does, not G seeds' (with
        all of them alive, K = 8 trained 10 % slower per seed than K = 1); the arithmetic of
        each seed is the one a single backward over all seeds does. Each seed's batch is
        gathered in its turn: an upstream's frames then pad to its own longest utterance, not to
        the longest of all seeds' batches. ``others`` are _seed_loss's remaining arguments,
        stacked over the seeds where ``in_dims`` says 0."""
        rows = flat.detach()
        grad = torch.empty_like(rows)
        losses = []
        for k in range(len(rows)):
            # Each parameter a leaf viewing seed k's row: the gradients come back one per
            # parameter, not each spread over a zeroed copy of the whole row.
            leaves = [view[0].detach().requires_grad_() for view in self.named(rows[k:k + 1]).values()]
            params = {name: leaf for (name, _), leaf in zip(self.layout, leaves)}
            seed_others = [a if d is None else seed_slice(a, k) for a, d in zip(others, in_dims)]
            with autocast(self.device, self.options.amp):
                loss = self._seed_loss(params, seed_slice(buffers, k), self.train_X[rows_of_seeds[k]].unsqueeze(1),
                                       *seed_others)
            torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, leaves)], out=grad[k])
            losses.append(loss.detach())
        return torch.stack(losses), grad

    def run_epoch(self, plan: EpochPlan | None = None) -> EpochLosses:
        """One training epoch of every seed, along ``plan`` (default: :meth:`plan_epoch`); the
        schedule is stepped by the epoch loop."""
        plan = self.plan_epoch() if plan is None else plan
        K = len(self.runs)
        # per step and seed, on the device; one transfer to the host at the end of the epoch
        step_losses = torch.full((len(plan.steps), K), float("nan"), dtype=torch.float64, device=self.device)
        everyone = torch.arange(K, device=self.device)
        for step, groups in enumerate(plan.steps):
            for group, loss in zip(groups, self.train_step(groups)):
                step_losses[step].index_copy_(0, everyone if group.index is None else group.index, loss.double())
        step_losses = step_losses.cpu().numpy()
        batch_size = self.options.batch_size
        means = []
        for k, run in enumerate(self.runs):
            n = len(run.train)
            # summed batch by batch in float64, as train_one_epoch sums loss * batch size
            total = 0.0
            for step in range(-(-n // batch_size)):
                total += step_losses[step, k] * batch_size
            means.append(total / max(n, 1))
        return EpochLosses(loss=means, step_losses=step_losses)

    def predictions(self, sets: Sequence[ScoredRows]) -> list[np.ndarray]:
        """Each seed's predictions on its set ``sets[k]``: the argmax of each utterance's mean
        segment logits, as ``ser.training.engine.evaluate``."""
        return [logits.argmax(dim=1).numpy() for logits in self.utterance_logits(sets)]

    @torch.no_grad()
    def utterance_logits(self, sets: Sequence[ScoredRows]) -> list[torch.Tensor]:
        """Each seed's (U, C) utterance logits on its set ``sets[k]`` (on the CPU): the mean of
        each utterance's segment logits, as ``ser.training.engine.predict_utterances``. Under vmap
        all seeds are scored in the same passes, the shorter sets padded with rows whose logits
        are dropped; the loop scores each seed's own rows only (padding would be computed too)."""
        self.template.eval()
        batch = scoring_batch_size(self.device) if self.options.eval_batch_size is None else \
            self.options.eval_batch_size

        def logits(params, buffers, x):
            return functional_call(self.template, (params, buffers), (x,))

        if not self.vectorize:
            means = []
            for k, s in enumerate(sets):
                params, buffers = seed_slice(self.params, k), seed_slice(self.buffers, k)
                rows, owner = (engine.to_device(torch.from_numpy(a), self.device) for a in (s.rows, s.owner))
                sums = torch.zeros(len(s.y), self.num_classes, device=self.device)
                for start in range(0, len(rows), batch):
                    chunk = slice(start, start + batch)
                    with autocast(self.device, self.options.amp):
                        out = logits(params, buffers, self.eval_X[rows[chunk]].unsqueeze(1)).float()
                    sums.index_add_(0, owner[chunk], out)
                counts = torch.bincount(owner, minlength=len(s.y)).clamp(min=1).unsqueeze(1)
                means.append((sums / counts).cpu())
            return means
        K, C = len(sets), self.num_classes
        width = max(len(s.rows) for s in sets)
        utterances = max(len(s.y) for s in sets)
        dummy = K * utterances  # the slot where padding rows' logits go
        rows = np.zeros((K, width), dtype=np.int64)
        owner = np.full((K, width), dummy, dtype=np.int64)
        for k, s in enumerate(sets):
            rows[k, :len(s.rows)] = s.rows
            owner[k, :len(s.rows)] = k * utterances + s.owner
        rows, owner = (engine.to_device(torch.from_numpy(a), self.device) for a in (rows, owner))
        sums = torch.zeros(dummy + 1, C, device=self.device)
        for start in range(0, width, batch):
            chunk = slice(start, start + batch)
            with autocast(self.device, self.options.amp):
                out = per_seed(logits, (0, 0, 0), True)(self.params, self.buffers,
                                                        self.eval_X[rows[:, chunk]].unsqueeze(2)).float()
            sums.index_add_(0, owner[:, chunk].reshape(-1), out.reshape(-1, C))
        counts = torch.bincount(owner.reshape(-1), minlength=dummy + 1).clamp(min=1).unsqueeze(1)
        means = (sums / counts)[:dummy].view(K, utterances, C).cpu()
        return [means[k, :len(s.y)] for k, s in enumerate(sets)]

    def seed_state_dict(self, k: int) -> dict[str, torch.Tensor]:
        """Seed ``k``'s model ``state_dict`` (CPU copies), as a solo run's model would give it."""
        stacked = {**self.params, **self.buffers}
        return {key: stacked[key][k].detach().cpu().clone() for key in self.keys}

    @torch.no_grad()
    def load_seed_state_dict(self, k: int, state: Mapping[str, torch.Tensor]) -> None:
        for name, tensor in {**self.params, **self.buffers}.items():
            tensor[k].copy_(state[name])

    # --- the ser.training.engine.Stepper interface: train_epochs drives these K seeds like one ---

    @property
    def seeds(self) -> int:
        return len(self.runs)

    def train_epoch(self) -> list[float]:
        return self.run_epoch().loss

    def step_schedule(self) -> None:
        self.scheduler.step()

    def _sets(self, part: str) -> list[ScoredRows]:
        if part == "selection":
            return [run.test if run.validation is None else run.validation for run in self.runs]
        return [run.test for run in self.runs]

    def predict(self, part: str) -> list[np.ndarray]:
        return self.predictions(self._sets(part))

    def labels(self, part: str) -> list[np.ndarray]:
        return [rows.y for rows in self._sets(part)]

    def weights(self, k: int) -> dict[str, torch.Tensor]:
        return self.seed_state_dict(k)

    def load_weights(self, k: int, weights: Mapping[str, torch.Tensor]) -> None:
        self.load_seed_state_dict(k, weights)

    def state(self) -> dict:
        """Everything but the epoch records that the K seeds continue from (CPU tensors, stacked)."""
        def cpu(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {n: t.detach().cpu().clone() for n, t in tensors.items()}

        return {"params": cpu(self.params), "buffers": cpu(self.buffers),
                "slots": {slot: cpu(self.named(tensor)) for slot, tensor in self.optimizer.slots.items()},
                "steps": list(self.optimizer.steps), "lr": self.lr, "scheduler": self.scheduler.state_dict(),
                "generators": [run.generator.get_state() for run in self.runs],
                "rngs": [run.rng.get_state() for run in self.runs]}

    @torch.no_grad()
    def load_state(self, state: dict) -> None:
        if len(state["steps"]) != len(self.runs) or list(state["params"]) != [name for name, _ in self.layout]:
            raise MultiSeedError(f"the resume state holds {len(state['steps'])} seeds of another model or size; "
                                 f"it cannot continue these {len(self.runs)} seeds")
        for mine, saved in ((self.params, state["params"]), (self.buffers, state["buffers"]),
                            *((self.named(self.optimizer.slots[s]), state["slots"][s]) for s in self.optimizer.slots)):
            for name, tensor in mine.items():
                tensor.copy_(saved[name])
        self.optimizer.steps = list(state["steps"])
        self.schedule_optimizer.param_groups[0]["lr"] = state["lr"]
        self.scheduler.load_state_dict(state["scheduler"])
        for run, generator, rng in zip(self.runs, state["generators"], state["rngs"]):
            run.generator.set_state(generator)
            run.rng.set_state(rng)


def _check(model_name, model_options, runs, train_pool, eval_pool, num_classes) -> None:
    """One clear message for seeds or options that cannot train together."""
    if not runs:
        raise MultiSeedError("no seeds to train")
    if not supported(model_name, model_options):
        raise MultiSeedError(f"model {model_name!r} with options {sorted(model_options or {})} is not one the "
                             f"K-seed engine trains ({', '.join(stackable_models())}); train the seeds one at a time")
    if len({run.validation is None for run in runs}) > 1 or len({run.class_weights is None for run in runs}) > 1:
        raise MultiSeedError("either every seed has a validation set (and class weights) or none has")
    for run in runs:
        if len(run.train) == 0 or len(run.test.y) == 0:
            raise MultiSeedError(f"seed {run.seed} has no training segments or no test utterances")
        sets = [run.test] + ([] if run.validation is None else [run.validation])
        if (run.train.min() < 0 or run.train.max() >= len(train_pool.X)
                or any(len(s.rows) and (s.rows.min() < 0 or s.rows.max() >= len(eval_pool.X)) for s in sets)):
            raise MultiSeedError(f"seed {run.seed} refers to rows outside the segment pools")
        if run.class_weights is not None and run.class_weights.shape != (num_classes,):
            raise MultiSeedError(f"seed {run.seed}'s class weights have shape {tuple(run.class_weights.shape)}, "
                                 f"expected ({num_classes},)")


def fit_seeds(model_name: str, shape: tuple[int, int], num_classes: int, runs: Sequence[SeedRun],
              train_pool: SegmentPool, eval_pool: SegmentPool, device: torch.device, options: MultiSeedOptions, *,
              model_options: Mapping[str, object] | None = None, observers: Sequence[engine.EpochObserver] = (),
              checkpoint: Callable[[dict], None] | None = None, resume: dict | None = None) -> list[FitResult]:
    """Train the seeds ``runs`` of one configuration together; per seed what ``ser.training.engine.fit``
    returns for its solo run: ``ser.training.engine.train_epochs``, the one epoch loop, on a
    :class:`MultiSeedTrainer`.

    Every seed builds ``models.create_model(model_name, shape, num_classes, **model_options)``
    from its generator, trains on its rows of ``train_pool`` and is scored on its rows of
    ``eval_pool``. ``observers[k].epoch_done`` runs for every seed ``k`` after every epoch;
    ``checkpoint`` receives the state after every epoch, which passed back as ``resume`` (with
    the same runs, freshly made) continues the run as if it had never stopped.
    """
    trainer = MultiSeedTrainer(model_name, shape, num_classes, runs, train_pool, eval_pool, device, options,
                               model_options)
    return engine.train_epochs(trainer, options, observers=observers, checkpoint=checkpoint, resume=resume)
