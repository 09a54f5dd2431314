"""The K-seed engine trains every seed as its solo run through ser.training.engine would: same draws,
updates within float rounding, untouched seeds untouched, exact resumption."""
import io
import re

import numpy as np
import pytest
import torch
import torch.nn as nn

import models
from ser.training import engine, stacked_step
from ser.training import seed_runs as sr
from ser.training import stacked as ms
from ser.training.dataset import TestUtterances, stack_segments
from ser.training.metrics import predict_utterances

CPU = torch.device("cpu")
SHAPE = (26, 57)  # the paper's 1.8 s MFCC segments
SMALL = (14, 21)  # small maps every supported model takes, for runs of several epochs
UTTERANCES = 60
TOLERANCE = 1e-5  # relative to the largest entry of each tensor


def corpus(shape=SHAPE):
    """Utterances of 1-3 segments whose label shifts the features, so models can learn."""
    draws = np.random.default_rng(0)
    labels = draws.integers(0, 4, UTTERANCES)
    feats = [(draws.standard_normal((int(draws.integers(1, 4)), *shape)) + label).astype(np.float32)
             for label in labels]
    return feats, labels


def split(rng, train_utterances, test_utterances=8):
    """A random split drawn from the run's RandomState, before training (as ser.protocols.splits does)."""
    order = rng.permutation(UTTERANCES)
    return order[:train_utterances], np.sort(order[train_utterances:train_utterances + test_utterances])


def utterances_with_segments(feats, seed, segments):
    """Training utterances whose segments add up to exactly ``segments``, in a seeded order."""
    order = np.random.default_rng(seed).permutation(UTTERANCES)
    chosen, total = [], 0
    for u in order:
        if total + len(feats[u]) <= segments:
            chosen.append(u)
            total += len(feats[u])
        if total == segments:
            return np.array(chosen)
    raise AssertionError("no such subset")


class Solo:
    """One seed's solo run through ser.training.engine's own functions, step by step. Solo runs are
    separate processes, so each keeps its own state of torch's global generator."""

    def __init__(self, name, seed, feats, labels, train_utts, optimizer="adam", alpha=0.5, weights=None,
                 batch_size=4):
        self.rng = engine.seed_everything(seed)
        split(self.rng, len(train_utts))
        shape = feats[0].shape[1:]
        self.model = models.create_model(name, shape=shape)
        train = stack_segments([feats[i] for i in train_utts], labels[train_utts], shape)
        self.X, self.y = torch.from_numpy(train.X), torch.from_numpy(train.y)
        self.optimizer = engine.make_optimizer(optimizer, self.model.parameters(), 1e-3)
        self.alpha, self.weights, self.batch_size = alpha, weights, batch_size
        self.batches, self.losses, self.lams, self.partners = [], [], [], []
        self.torch_state = torch.get_rng_state()

    def epoch(self, monkeypatch=None):
        """One engine epoch, recording each batch's indices, λ, partner and loss."""
        solo = self
        lams = self.lams

        class RecordingRng:  # what mixup_loss asks of the run's RandomState
            def beta(self, a, b):
                lams.append(solo.rng.beta(a, b))
                return lams[-1]

        if monkeypatch is not None:
            randperm = torch.randperm

            def recording_randperm(n, *args, **kwargs):
                drawn = randperm(n, *args, **kwargs)
                if "generator" not in kwargs:  # mixup's partner, not the sampler's order
                    self.partners.append(drawn.numpy())
                return drawn

            monkeypatch.setattr(torch, "randperm", recording_randperm)
        mixup = engine.mixup_loss(nn.CrossEntropyLoss(weight=self.weights), self.alpha, RecordingRng())

        def batch_loss(model, x, target, index):
            self.batches.append(index.numpy())
            loss = mixup(model, x, target, index)
            self.losses.append(loss.item())
            return loss

        torch.set_rng_state(self.torch_state)
        try:
            return engine.train_one_epoch(self.model, self.X, self.y, self.optimizer, self.batch_size, batch_loss)
        finally:
            self.torch_state = torch.get_rng_state()
            if monkeypatch is not None:
                monkeypatch.undo()


def seed_runs(seeds, feats, labels, train_sets, weights=None):
    """The K-seed engine's view of the same seeds and splits: the same RandomState draws first."""
    pool = sr.SegmentPool.from_utterances(feats, labels, feats[0].shape[1:])
    runs = []
    for k, (seed, train_utts) in enumerate(zip(seeds, train_sets)):
        rng = engine.seed_everything(seed)
        _, test = split(rng, len(train_utts))
        runs.append(sr.SeedRun(seed=seed, rng=rng, train=pool.train_rows(train_utts), test=pool.scored(test),
                               class_weights=None if weights is None else weights[k]))
    return pool, runs


def trainer(name, runs, pool, **options):
    settings = dict(epochs=2, batch_size=4, alpha=0.5)
    settings.update(options)
    return ms.MultiSeedTrainer(name, pool.X.shape[1:], 4, runs, pool, pool, CPU, sr.MultiSeedOptions(**settings))


def assert_close(actual, expected, what, scale=None):
    """Within TOLERANCE of ``scale``, by default the largest entry of ``expected``."""
    scale = expected.abs().max().item() if scale is None else scale
    error = (actual.float() - expected.float()).abs().max().item()
    assert error <= TOLERANCE * scale + 1e-30, f"{what}: max error {error:.3g} against max {scale:.3g}"


def cancelled_by_batchnorm(name):
    """The bias of a trunk convolution: a training-mode BatchNorm follows and subtracts the
    batch mean, so the bias's gradient is zero but for rounding noise, which Adam blows up to
    steps of about the learning rate in a direction no two summation orders agree on."""
    return re.fullmatch(r"conv\w*(\.conv\d)?\.bias", name) is not None


def compare_step(k, solo, multi, name, before):
    """Seed k's weights, buffers and optimizer state in the K-seed engine against its solo run's.

    Gradients (what the optimizer's moments hold) are compared on the scale of the model's
    largest, since their rounding error is set by the sums over the whole network: a tensor with
    tiny gradients (gMLPgResMultiConv3's gated stem branch) has a large error relative to
    itself. Adam normalises each gradient entry by its own size, so an entry at rounding level
    takes a step of up to the learning rate either way (a solo run with 2 threads instead of 1
    differs from itself by as much); Adam's weights are compared by the whole update instead,
    leaving out the entries whose gradient is at rounding level.
    """
    state = multi.seed_state_dict(k)
    params = dict(solo.model.named_parameters())
    largest = max(p.grad.abs().max().item() for p in params.values())
    cancelled = {n for n in params if cancelled_by_batchnorm(n)}
    assert cancelled or not any(p.dim() == 4 for p in params.values())  # the pattern still names the CNNs' biases
    assert all(params[n].grad.abs().max().item() < 1e-5 * largest for n in cancelled)
    for key, value in solo.model.state_dict().items():
        if key in cancelled:
            continue
        if key in params and multi.optimizer.name != "sgd":
            # Entries whose gradient is within ten times the gradients' tolerance of zero step by
            # up to the learning rate in either direction; their moments are compared below.
            settled = params[key].grad.abs() >= 10 * TOLERANCE * largest
            update = (value - before[key])[settled].norm()
            assert (state[key] - value)[settled].norm() <= 1e-2 * update, f"{name} seed {k} {key}"
        else:
            assert_close(state[key], value, f"{name} seed {k} {key}")
    slots = {"momentum": "momentum_buffer"} if multi.optimizer.name == "sgd" else \
        {"exp_avg": "exp_avg", "exp_avg_sq": "exp_avg_sq"}
    for mine, theirs in slots.items():
        # square roots of the squared moments: on the scale of the gradients, like the rest
        root = (lambda t: t.sqrt()) if mine == "exp_avg_sq" else (lambda t: t)
        scale = max(root(solo.optimizer.state[p][theirs]).abs().max().item() for p in params.values())
        engine_slot = multi.named(multi.optimizer.slots[mine])
        for n, p in params.items():
            if n not in cancelled:
                assert_close(root(engine_slot[n][k]), root(solo.optimizer.state[p][theirs]),
                             f"{name} seed {k} {n} {mine}", scale)
    for p in params.values():
        if "step" in solo.optimizer.state[p]:
            assert multi.optimizer.steps[k] == int(solo.optimizer.state[p]["step"])


def sync_to_solo(k, solo, multi):
    """Give seed k in the K-seed engine exactly its solo run's weights and optimizer state."""
    multi.load_seed_state_dict(k, solo.model.state_dict())
    slots = {"momentum": "momentum_buffer"} if multi.optimizer.name == "sgd" else \
        {"exp_avg": "exp_avg", "exp_avg_sq": "exp_avg_sq"}
    with torch.no_grad():
        for n, p in solo.model.named_parameters():
            for mine, theirs in slots.items():
                multi.named(multi.optimizer.slots[mine])[n][k].copy_(solo.optimizer.state[p][theirs])
    if "step" in solo.optimizer.state[next(solo.model.parameters())]:
        multi.optimizer.steps[k] = int(solo.optimizer.state[next(solo.model.parameters())]["step"])


def one_step_comparison(name, optimizer, alpha=0.5, weighted=False, shape=SHAPE, vectorize=None):
    """Two seeds of one batch each: epoch 1 from the initial weights, then, from the solo runs'
    weights and optimizer states copied over, epoch 2 with the next batch."""
    feats, labels = corpus(shape)
    seeds = (3, 11)
    train_sets = [utterances_with_segments(feats, seed, 4) for seed in seeds]
    weights = [torch.tensor([1.0, 2.0, 0.5, 1.5]), torch.tensor([0.7, 1.0, 1.3, 2.0])] if weighted else None
    pool, runs = seed_runs(seeds, feats, labels, train_sets, weights)
    multi = trainer(name, runs, pool, optimizer=optimizer, alpha=alpha, vectorize=vectorize)
    solos = [Solo(name, seed, feats, labels, train_utts, optimizer, alpha, None if weights is None else weights[k])
             for k, (seed, train_utts) in enumerate(zip(seeds, train_sets))]
    for _ in range(2):
        losses = multi.run_epoch().loss
        for k, solo in enumerate(solos):
            before = {key: v.clone() for key, v in solo.model.state_dict().items()}
            solo_loss = solo.epoch()
            assert losses[k] == pytest.approx(solo_loss, rel=TOLERANCE)
            compare_step(k, solo, multi, name, before)
            sync_to_solo(k, solo, multi)


# The two ways seeds of a step run (ser.training.stacked_step.per_seed): one loop over the seeds (the CPU's
# default) and vmap (a GPU's), both checked here on the CPU. Under vmap a convolution becomes a
# grouped one, which oneDNN sums by other kernels than the plain one, chosen by the CPU's
# instruction set and thread count; through a training-mode BatchNorm over 4 segments that
# rounding grew to 2 % of a stem weight's Adam moment on an AVX-512 CPU with one thread (and to
# 4e-4 of gMLPResMultiConv35's on an AVX2 CPU with two). vmap runs on GPUs, not through oneDNN,
# so its tests here run ATen's own convolutions (oneDNN off, solo runs included), which sum a
# grouped convolution group by group as the plain one: they check what vmap maps, not oneDNN.
@pytest.fixture(params=[False, True], ids=["loop", "vmap"])
def vectorize(request, monkeypatch):
    if request.param:
        monkeypatch.setattr(torch.backends.mkldnn, "enabled", False)  # undone after the test
    return request.param


@pytest.mark.parametrize("name", ms.stackable_models())
def test_every_supported_model_steps_as_its_solo_run(name, vectorize):
    one_step_comparison(name, "adam", shape=SMALL, vectorize=vectorize)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "adamw"])
@pytest.mark.parametrize("name", ["GLAM", "MHCNN", "AACNN", "CNN_AttnPooling"])
def test_one_step_equals_the_solo_step(name, optimizer, vectorize):
    # the loop at the paper's 26×57 maps (a CPU's way), vmap at the small ones (for time)
    one_step_comparison(name, optimizer, vectorize=vectorize, shape=SMALL if vectorize else SHAPE)


def test_plain_cross_entropy_with_class_weights_per_seed():
    one_step_comparison("GLAM", "adam", alpha=0.0, weighted=True, shape=SMALL)


@pytest.mark.parametrize("name", ["adam", "sgd", "adamw"])
def test_stacked_optimizer_is_torchs_update_seed_by_seed(name):
    """Given the same gradients, each seed's row gets exactly torch.optim's update of its two
    parameters, also when only some seeds step and the seeds are at different step counts."""
    draws = torch.Generator().manual_seed(0)
    K, lr = 3, 1e-3
    stacked = torch.randn(K, 19, generator=draws)  # a (5, 3) weight and a (4,) bias per seed
    solo = [[stacked[k, :15].view(5, 3).clone().requires_grad_(), stacked[k, 15:].clone().requires_grad_()]
            for k in range(K)]
    solo_optimizers = [engine.make_optimizer(name, params, lr) for params in solo]
    optimizer = stacked_step.StackedOptimizer(name, solo_optimizers[0].param_groups[0], stacked)
    for seeds in ([0, 1, 2], [0, 2], [1], [1], [0, 1, 2]):
        grad = torch.randn(K, 19, generator=draws)
        index = None if len(seeds) == K else torch.tensor(seeds)
        corrections = (None, None) if name == "sgd" else \
            map(torch.from_numpy, optimizer.bias_corrections([optimizer.steps[k] + 1 for k in seeds], lr))
        group = sr.StepGroup(seeds, index, torch.empty(0), None, None, None, [], *corrections)
        rows = stacked if index is None else stacked[index]
        optimizer.update(group, rows, grad if index is None else grad[index], lr)
        if index is not None:
            stacked.index_copy_(0, index, rows)
        for k in seeds:
            solo[k][0].grad, solo[k][1].grad = grad[k, :15].view(5, 3).clone(), grad[k, 15:].clone()
            solo_optimizers[k].step()
        for k in range(K):
            assert torch.equal(stacked[k], torch.cat([p.detach().flatten() for p in solo[k]])), (name, seeds, k)
    assert optimizer.steps == [3, 4, 3]


def test_seeds_of_different_sizes_draw_their_solo_batches_and_follow_their_losses(monkeypatch, vectorize):
    """AACNN: mixup and dropout draws; 13, 17 and 19 segments at batch 4 give 4, 5 and 5
    batches per epoch with last batches of 1, 1 and 3, at two different steps."""
    feats, labels = corpus(SMALL)
    seeds, sizes = (2, 7, 9), (13, 17, 19)
    train_sets = [utterances_with_segments(feats, seed, size) for seed, size in zip(seeds, sizes)]
    pool, runs = seed_runs(seeds, feats, labels, train_sets)
    multi = trainer("AACNN", runs, pool, vectorize=vectorize)
    solos = [Solo("AACNN", seed, feats, labels, train_utts) for seed, train_utts in zip(seeds, train_sets)]
    step_losses = []
    for _ in range(3):
        plan = multi.plan_epoch()
        assert [[group.seeds for group in groups] for groups in plan.steps[3:]] == [[[1, 2], [0]], [[2], [1]]]
        step_losses.append(multi.run_epoch(plan).step_losses)
        for k, solo in enumerate(solos):
            first = len(solo.batches)
            solo.epoch(monkeypatch)
            draws = plan.draws[k]
            assert np.array_equal(np.concatenate(solo.batches[first:]), draws.order)
            assert solo.lams[first:] == draws.lams
            assert all(np.array_equal(a, b) for a, b in zip(solo.partners[first:], draws.partners, strict=True))
    for k, solo in enumerate(solos):
        mine = np.concatenate([losses[:, k] for losses in step_losses])
        mine = mine[~np.isnan(mine)]
        assert len(mine) == len(solo.losses)
        np.testing.assert_allclose(mine[:10], solo.losses[:10], rtol=1e-4)


def test_a_seed_without_a_batch_is_untouched(vectorize):
    feats, labels = corpus(SMALL)
    seeds = (4, 6)
    train_sets = [utterances_with_segments(feats, 4, 4), utterances_with_segments(feats, 6, 12)]
    pool, runs = seed_runs(seeds, feats, labels, train_sets)
    multi = trainer("AACNN", runs, pool, vectorize=vectorize)
    plan = multi.plan_epoch()
    assert [[group.seeds for group in groups] for groups in plan.steps] == [[[0, 1]], [[1]], [[1]]]
    multi.train_step(plan.steps[0])

    def snapshot(k):
        slots = {slot: tensor[k].clone() for slot, tensor in multi.optimizer.slots.items()}
        return {**multi.seed_state_dict(k), **slots}, multi.optimizer.steps[k]

    before = [snapshot(k) for k in (0, 1)]
    for step in plan.steps[1:]:
        multi.train_step(step)
    after = [snapshot(k) for k in (0, 1)]
    assert after[0][1] == before[0][1] == 1 and after[1][1] == 3
    assert all(torch.equal(after[0][0][key], value) for key, value in before[0][0].items())
    assert not torch.equal(after[1][0]["fc.weight"], before[1][0]["fc.weight"])
    assert not torch.equal(after[1][0]["bn5.running_mean"], before[1][0]["bn5.running_mean"])


def test_batchnorm_statistics_follow_the_solo_run(vectorize):
    """SGD, whose step on a cancelled bias is as small as its gradient (Adam would blow it up
    to the learning rate and move the running means with it)."""
    feats, labels = corpus(SMALL)
    seeds = (1, 5)
    train_sets = [utterances_with_segments(feats, 1, 12), utterances_with_segments(feats, 5, 10)]
    pool, runs = seed_runs(seeds, feats, labels, train_sets)
    multi = trainer("GLAM", runs, pool, optimizer="sgd", vectorize=vectorize)
    multi.run_epoch()
    for k, (seed, train_utts) in enumerate(zip(seeds, train_sets)):
        solo = Solo("GLAM", seed, feats, labels, train_utts, "sgd")
        solo.epoch()
        state = multi.seed_state_dict(k)
        for key, value in solo.model.state_dict().items():
            if "running" in key:
                assert_close(state[key], value, key)
            elif key.endswith("num_batches_tracked"):
                assert int(state[key]) == int(value) == 3


def test_batched_scoring_equals_the_engines(vectorize):
    """Seeds with test sets of different sizes, scored in passes of 7 segments per seed."""
    feats, labels = corpus(SMALL)
    tests = [np.arange(40, 48), np.arange(20, 45), np.array([5, 3, 9])]
    pool = sr.SegmentPool.from_utterances(feats, labels, SHAPE)
    runs = [sr.SeedRun(seed=k, rng=np.random.RandomState(k), train=pool.train_rows(np.arange(5)),
                       test=pool.scored(test)) for k, test in enumerate(tests)]
    multi = trainer("MHCNN", runs, pool, eval_batch_size=7, vectorize=vectorize)
    multi.run_epoch()
    mine = multi.utterance_logits([run.test for run in runs])
    for k, test in enumerate(tests):
        model = models.create_model("MHCNN", shape=SMALL)
        model.load_state_dict(multi.seed_state_dict(k))
        theirs = predict_utterances(model, pool_test(feats, labels, test), CPU)
        assert mine[k].shape == theirs.shape
        assert_close(mine[k], theirs, f"seed {k} utterance logits")


def fit_both(name, seeds, sizes, epochs, validation=False, scored=8, **options):
    """Solo ser.training.engine.fit runs and one fit_seeds run of the same seeds; ``scored`` utterances
    are the test set, or halved into test and validation sets."""
    feats, labels = corpus(SMALL)
    train_sets = [utterances_with_segments(feats, seed, size) for seed, size in zip(seeds, sizes)]
    pool, runs = seed_runs(seeds, feats, labels, train_sets)
    solo_results = []
    for k, (seed, train_utts) in enumerate(zip(seeds, train_sets)):
        solo = Solo(name, seed, feats, labels, train_utts)
        test_utts = split(np.random.RandomState(seed), len(train_utts), scored)[1]
        halves = test_utts[:scored // 2], test_utts[scored // 2:]
        parts = [pool_test(feats, labels, part) for part in halves]
        runs[k] = sr.SeedRun(seed=seed, rng=runs[k].rng, train=runs[k].train,
                             test=pool.scored(halves[0] if validation else test_utts),
                             validation=pool.scored(halves[1]) if validation else None)
        solo_results.append(engine.fit(
            solo.model, stack_segments([feats[i] for i in train_utts], labels[train_utts], SMALL),
            parts[0] if validation else pool_test(feats, labels, test_utts), CPU,
            engine.FitOptions(epochs=epochs, batch_size=4), engine.mixup_loss(nn.CrossEntropyLoss(), 0.5, solo.rng),
            solo.rng, validation=parts[1] if validation else None))
    settings = dict(epochs=epochs, batch_size=4, **options)
    multi = ms.fit_seeds(name, SMALL, 4, runs, pool, pool, CPU, sr.MultiSeedOptions(**settings))
    return solo_results, multi


def pool_test(feats, labels, test_utts):
    return TestUtterances.from_lists([feats[u] for u in test_utts], labels[test_utts], [""] * len(test_utts),
                                     feats[0].shape[1:])


def test_two_epochs_score_within_one_utterance_of_the_solo_runs(vectorize):
    solo, multi = fit_both("AACNN", (2, 7, 9), (10, 13, 19), epochs=2, vectorize=vectorize)
    for theirs, mine in zip(solo, multi):
        assert [r.epoch for r in mine.history] == [0, 1]
        for a, b in zip(theirs.history, mine.history, strict=True):
            assert a.lr == b.lr
            assert b.loss == pytest.approx(a.loss, rel=1e-3)
            assert np.sum(a.predictions != b.predictions) <= 1


def test_validation_selects_the_epoch_and_scores_test_once_with_its_weights():
    solo, multi = fit_both("CNN_AttnPooling", (2, 7), (10, 13), epochs=4, validation=True, scored=24,
                           keep_best_state=True)
    assert all(mine.best.epoch < 3 for mine in multi)  # so the last epoch's weights would score differently
    for theirs, mine in zip(solo, multi):
        assert mine.best.epoch == theirs.best.epoch
        assert len(mine.test.predictions) == 12 and np.sum(mine.test.predictions != theirs.test.predictions) <= 1
        assert mine.best_state is not None and theirs.best_state is None


def test_resumed_run_equals_the_uninterrupted_run():
    feats, labels = corpus(SMALL)
    seeds, sizes = (2, 7), (10, 13)
    train_sets = [utterances_with_segments(feats, seed, size) for seed, size in zip(seeds, sizes)]
    options = sr.MultiSeedOptions(epochs=3, batch_size=4, lr_schedule="step")
    saved = {}

    def run(resume=None):
        pool, runs = seed_runs(seeds, feats, labels, train_sets)
        trainer = ms.MultiSeedTrainer("AACNN", SMALL, 4, runs, pool, pool, CPU, options)

        def checkpoint(state):
            if state["next_epoch"] == 1:
                buffer = io.BytesIO()
                torch.save(state, buffer)  # what a resume file holds
                saved["state"] = buffer.getvalue()

        results = engine.train_epochs(trainer, options, resume=resume, checkpoint=checkpoint)
        return results, [trainer.seed_state_dict(k) for k in range(len(runs))]

    whole, whole_weights = run()
    state = torch.load(io.BytesIO(saved["state"]), weights_only=False)
    resumed, resumed_weights = run(resume=state)
    for a, b in zip(whole, resumed):
        assert [r.loss for r in a.history] == [r.loss for r in b.history]
        assert all(np.array_equal(x.predictions, y.predictions) for x, y in zip(a.history, b.history))
        assert a.best.epoch == b.best.epoch
    for a, b in zip(whole_weights, resumed_weights):
        assert all(torch.equal(a[key], b[key]) for key in a)


def test_amp_trains_in_bf16():
    feats, labels = corpus(SMALL)
    pool, runs = seed_runs((3,), feats, labels, [utterances_with_segments(feats, 3, 8)])
    full = trainer("GLAM", runs, pool).run_epoch().loss[0]
    pool, runs = seed_runs((3,), feats, labels, [utterances_with_segments(feats, 3, 8)])
    amp = trainer("GLAM", runs, pool, amp=True).run_epoch().loss[0]
    assert amp != full and amp == pytest.approx(full, rel=5e-2)


def test_the_seeds_map_is_a_loop_on_the_cpu_unless_asked():
    feats, labels = corpus(SMALL)
    pool, runs = seed_runs((1, 2), feats, labels, [np.arange(5), np.arange(6)])
    assert not trainer("CNN_GAP", runs, pool).vectorize
    assert trainer("CNN_GAP", runs, pool, vectorize=True).vectorize


def test_supported_models():
    maps_models = set(models.list_models(reads=models.MAPS))
    assert set(ms.stackable_models()) & maps_models | {"alexnet", "alexnet_gap"} == maps_models
    assert ms.supported("ssl_linear") and ms.supported("ssl_mlp") and ms.supported("mlp")  # the downstreams too
    assert ms.supported("GLAM") and ms.supported("MACNN") and ms.supported("MHCNN", {"num_heads": 2})
    assert not ms.supported("alexnet") and not ms.supported("GLAM", {"num_heads": 2})
    assert not ms.supported("no such model")


def test_bad_configurations_give_one_clear_error():
    with pytest.raises(sr.MultiSeedError, match="unknown optimizer 'rmsprop'"):
        sr.MultiSeedOptions(epochs=1, batch_size=1, optimizer="rmsprop")
    with pytest.raises(sr.MultiSeedError, match="alpha"):
        sr.MultiSeedOptions(epochs=1, batch_size=1, alpha=-1)
    with pytest.raises(sr.MultiSeedError, match="eval_batch_size must be at least 1"):
        sr.MultiSeedOptions(epochs=1, batch_size=1, eval_batch_size=0)  # 0 is not "the default"
    feats, labels = corpus()
    pool, runs = seed_runs((1, 2), feats, labels, [np.arange(3), np.arange(4)])
    runs[1].validation = pool.scored([50, 51])
    with pytest.raises(sr.MultiSeedError, match="validation"):
        trainer("GLAM", runs, pool)
    with pytest.raises(sr.MultiSeedError, match="not one the K-seed engine trains"):
        trainer("alexnet", runs[:1], pool)
