"""One training run as a short recipe, and the runs around it (every fold, several seeds).

    config = ser.runs.config.resolve_args(["-m", "GLAM", "--data", ROOT])
    summary = ser.runs.pipeline.run(config)          # results.json's content; None when skipped

:func:`run_training` is the whole of one run, in the order a reader expects: seed everything,
load and split the data (``ser.runs.data``), build the model (``models``), train it
(``ser.training.engine.fit``, observed by ``ser.runs.runlog.RunLog``) ``--iter`` times keeping the best,
then write every result file (``ser.records.results``, the ``.metric`` line last) and the
checkpoint. :func:`run_all_folds` runs every fold of a multi-fold protocol on the corpus
loaded once and writes their mean; :func:`run_seeds` the next N seeds of the seeds file at
once. :func:`run` picks among them as ``train.py`` does.
"""
from __future__ import annotations

import dataclasses
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from tqdm import tqdm

import models
import ser
from ser.io import ClaimSet, write_json
from ser.protocols.registry import description as protocol_description
from ser.protocols.registry import is_multi_fold
from ser.records import results
from ser.records.checkpoint import CheckpointError, build_checkpoint, load_resume_state, save_resume_state
from ser.records.checkpoint import save as save_checkpoint
from ser.runs.config import RunConfig, check_input_shape, resolve_device
from ser.runs.data import (
    CorpusData,
    RunData,
    fold_numbers,
    load_corpus,
    prepare_run,
    split_info,
    split_order,
    split_record,
    synthetic_note,
    test_paths,
    uses_original_pickle,
)
from ser.runs.data import data_identity as identify_data
from ser.runs.guards import (
    RunError,
    already_finished,
    claim_holder,
    claimed,
    open_run_dir,
    refuse_writing_into_the_corpus,
    run_identity,
)
from ser.runs.request import DataRequest, data_request
from ser.runs.runlog import BestSoFar, RunLog, RunState, resume_state
from ser.seeds import read_seeds
from ser.training import augment, engine, seed_runs, stacked
from ser.training.dataset import TestUtterances, TrainSegments
from ser.training.engine import capture_rng, inverse_frequency_weights, restore_rng, seed_everything
from ser.training.metrics import confusion, report_text


def run(config: RunConfig) -> dict | None:
    """What ``train.py`` does with ``config``: N seeds (``--seeds N``), every fold of a multi-fold
    protocol, or one run. Returns the results.json summary (per seed for ``--seeds``), or None
    when the seed is finished already."""
    device = resolve_device(config.gpu)
    for note in config.notes:
        log_for(config)(note)
    if config.seeds > 1:
        return run_seeds(config, device)
    if config.runs_every_fold:
        return run_all_folds(config, device)
    return run_training(config, device)


def log_for(config: RunConfig):
    return (lambda *a: None) if config.quiet else print


def build_model(config: RunConfig, shape: tuple[int, ...], num_classes: int) -> nn.Module:
    return models.create_model(config.model, shape=shape, num_classes=num_classes, **config.model_options())


def batch_loss(config: RunConfig, train, criterion: nn.Module, rng: np.random.RandomState,
               device: torch.device) -> engine.BatchLoss:
    """GLAM's mixup loss, or seed 004's options (``ser.training.augment``) when any of them is on."""
    if config.mixup == "glam" and config.stability_weight == 0:
        return engine.mixup_loss(criterion, config.alpha, rng)
    options = augment.TrainOptions(config.alpha, config.mixup, config.stability_weight, config.stability_loss,
                                   config.stability_sigma)
    noisy = torch.from_numpy(train.noisy).to(device) if isinstance(train, augment.PairedSegments) else None
    return augment.options_loss(options, criterion, rng, noisy)


def train_iterations(config: RunConfig, data: RunData, device: torch.device, rng: np.random.RandomState,
                     files: results.RunFiles, log) -> tuple[BestSoFar, float]:
    """Train ``--iter`` times (continuing a resume state), keep the best; (best, seconds)."""
    num_classes = len(config.class_names)
    weights = inverse_frequency_weights(data.train.y, num_classes) if config.weight else None
    criterion = nn.CrossEntropyLoss(weight=None if weights is None else weights.to(device))
    state = resume_state(config.resume, files, config.resume_args(), log)
    with RunLog(files, state, seed=config.seed, model=config.model, epochs=config.epochs,
                class_names=config.class_names, selection_labels=data.selection.y,
                validated=data.validation is not None, save_resume=config.save_resume_state,
                tensorboard=config.tensorboard, quiet=config.quiet) as runlog:
        for iteration in range(state.iteration, config.iter):
            fit_state = state.fit if iteration == state.iteration else None
            if fit_state is None and state.rng is not None:
                restore_rng(state.rng, rng)  # a resumed run at the start of this iteration
            log(f"Model: {config.model}")
            model = build_model(config, data.shape, num_classes)
            if not config.quiet:
                models.print_summary(model, data.shape)  # eval-mode pass: draws nothing, changes nothing
            model.to(device)
            runlog.start_iteration(iteration, 0 if fit_state is None else fit_state["next_epoch"])
            outcome = engine.fit(model, data.train, data.test, device, config.fit_options(),
                                 batch_loss(config, data.train, criterion, rng, device), rng,
                                 validation=data.validation, observer=runlog, resume=fit_state)
            runlog.end_iteration()
            # Iterations compete on the selection set: the test set in the paper protocol, else validation.
            best = state.best_so_far.best
            if best is None or outcome.best.scores.selection > best.scores.selection:
                state.best_so_far = BestSoFar(outcome.best, outcome.history, outcome.best_state, outcome.test)
            if iteration + 1 < config.iter:
                runlog.between_iterations(iteration + 1, capture_rng(rng))
        return state.best_so_far, runlog.running_time


def run_summary(config: RunConfig, data: RunData, best: BestSoFar, device: torch.device, feature_seconds: float,
                running_time: float, files: results.RunFiles) -> dict:
    """``results.json`` of a finished run."""
    class_names = config.class_names
    tested, corpus = best.tested, data.corpus
    return {
        "args": config.resolved_args(),
        "protocol": data.protocol,
        "protocol_name": config.protocol,
        "fold": config.fold,
        # the set each epoch was scored on and the best epoch chosen by ("epochs", "selection_best")
        "selected_on": "test" if data.validation is None else "validation",
        "labels": config.labels,
        "model": {"name": config.model, "options": config.effective_model_options()},
        "checkpoint": files.checkpoint.name if config.SaveModel else None,
        "corpus": None if corpus is None else {"name": corpus.name, "root": str(corpus.root),
                                               "synthetic": corpus.synthetic},
        "data": data.data_summary,
        "test_corpus": None if corpus is None or corpus.test_corpus is None else {
            "name": corpus.test_corpus.name, "root": str(corpus.test_corpus.root),
            "synthetic": corpus.test_corpus.synthetic, "data": corpus.test_corpus.data_summary},
        "class_names": class_names,
        "split": {"train_segments": int(len(data.train.y)), "test_utterances": int(len(data.test.y)),
                  "validation_utterances": 0 if data.validation is None else int(len(data.validation.y)),
                  "info": data.info, **data.split},
        "feature_shape": list(data.shape),
        # what the feature settings need to recompute the test features (figures)
        "feature_settings": None if corpus is None else dataclasses.asdict(config.feature_settings()),
        "best_epoch": best.best.epoch,
        "best": tested.scores.as_dict(),
        "selection_best": best.best.scores.as_dict(),
        # paths: each test turn's wav below the corpus root, so that a reader (t-SNE) needs no corpus reader
        "test_utterances": {"turns": list(data.test.names), "labels": data.test.y.tolist(),
                            "predictions": tested.predictions.tolist(), "paths": test_paths(corpus, data.test.names)},
        "validation_turns": None if data.validation is None else list(data.validation.names),
        "confusion_matrix": {"rows_true_columns_predicted": class_names,
                             "counts": confusion(data.test.y, tested.predictions, len(class_names)).tolist()},
        "classification_report": report_text(data.test.y, tested.predictions, class_names),
        "epochs": [{"epoch": r.epoch, "lr": r.lr, "loss": r.loss, "seconds": r.seconds, **r.scores.as_dict()}
                   for r in best.history],
        "timing": {"features_and_split_s": feature_seconds, "training_s": running_time},
        "epochs_csv": files.epochs_csv.name,
        "device": str(device),
        "feature_backend": config.feature_backend_on(device),
        "versions": {"ser": ser.__version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
    }


def save_model(config: RunConfig, data: RunData, best: BestSoFar, files: results.RunFiles) -> None:
    """``--SaveModel``: the selected epoch as a self-describing checkpoint."""
    # the weights come with the checkpoint: rebuilding it needs no ImageNet file
    options = {k: v for k, v in config.effective_model_options().items() if k != "pretrained"}
    checkpoint = build_checkpoint(
        None, model_name=config.model, model_options=options, features=config.feature_settings(),
        train_overlap=config.train_overlap, test_overlap=config.test_overlap, class_names=config.class_names,
        labels=config.labels, protocol=config.protocol, seed=config.seed, epoch=best.best.epoch,
        scores=best.tested.scores.as_dict(), state_dict=best.state,
        scaler=None if data.scaler is None else (data.scaler.minimum, data.scaler.scale), pooling=config.pooling)
    save_checkpoint(checkpoint, files.checkpoint)


def run_training(config: RunConfig, device: torch.device, corpus: CorpusData | None = None) -> dict | None:
    """One run on one split (one fold), trained ``--iter`` times; writes its result files.

    ``corpus`` is :func:`ser.runs.data.load_corpus`'s result when the caller has loaded it already.
    Returns the results.json summary, or None when the seed is finished already (--force).
    Every check (the data, the split, the model's input) happens before anything of the run is
    written; its folder and ``last.json`` appear only when training starts.
    """
    log = log_for(config)
    files = config.files()
    request = data_request(config)
    if corpus is None:
        data_identity, scanned = identify_data(request)
    else:
        data_identity, scanned = corpus.identity, None
    refuse_writing_into_the_corpus(config, files, corpus.root if corpus else scanned and scanned.root)
    refuse_writing_into_the_corpus(config, files, config.test_data and Path(config.test_data))
    identity = run_identity(config, data_identity)
    if already_finished(config, files, identity):
        return None
    with claimed(config, files):
        if already_finished(config, files, identity):  # finished by another run meanwhile
            return None
        rng = seed_everything(config.seed)
        log("Load features...")
        started = time.perf_counter()
        data = prepare_run(request, corpus, rng, log, scanned)
        check_input_shape(config, data.shape)
        log(f"Training segments: {len(data.train.y)}, test utterances: {len(data.test.y)}"
            + ("" if data.validation is None else f", validation utterances: {len(data.validation.y)}")
            + f", features {data.shape}, device {device}")
        feature_seconds = time.perf_counter() - started
        open_run_dir(files, config)

        best, running_time = train_iterations(config, data, device, rng, files, log)
        return finish_run(config, data, best, device, feature_seconds, running_time, files, identity)


def finish_run(config: RunConfig, data: RunData, best: BestSoFar, device: torch.device, feature_seconds: float,
               running_time: float, files: results.RunFiles, identity: dict) -> dict:
    """Everything a trained run writes (the checkpoint, results.json, the shared files, the
    .metric line last) and prints; returns its summary."""
    summary = {**run_summary(config, data, best, device, feature_seconds, running_time, files), "identity": identity}
    matrix = np.asarray(summary["confusion_matrix"]["counts"])
    try:
        if config.SaveModel:
            save_model(config, data, best, files)
        results.write_finished_run(
            files, summary, config.seed, summary["best"], identity, losses=[r.loss for r in best.history],
            log_text=(f"{summary['classification_report']}\n{matrix}\n{data.info}\n"
                      f"Running time with {config.iter} iterations: {running_time}\n"))
    except OSError as error:
        raise RunError(f"cannot write the results of seed {config.seed} ({error}); free some space or pass -d "
                       "a writable path, then rerun (the seed is not recorded as finished)") from None
    files.resume_state.unlink(missing_ok=True)
    s = best.tested.scores
    # the result line is printed even with --quiet: it is what the run was for
    print(f"{config.model} seed {config.seed}{'' if config.fold is None else f' fold {config.fold}'}: best epoch "
          f"{best.best.epoch + 1} of {config.epochs}: WA {s.WA:.2f}%, UA {s.UA:.2f}%, macro F1 {s.macro_f1:.2f}%, "
          f"weighted F1 {s.weighted_f1:.2f}%  [{data.protocol}]")
    print(f"results: {files.results_json} and the line in {files.metric}"
          + (f"; model: {files.checkpoint}" if config.SaveModel else ""))
    return summary


def run_all_folds(config: RunConfig, device: torch.device) -> dict | None:
    """Every fold of ``--protocol`` in turn (``DATADIR/fold<K>``, the corpus loaded once), then
    their mean ± std (population std, as the tables): ``DATADIR/results.json`` and one line
    per seed in ``PARENT/<stem>_<protocol>.metric``. Returns that summary, or None when this
    seed's line is there already (see ``--force``)."""
    log = log_for(config)
    files, request = config.files(), data_request(config)
    data_identity, scanned = identify_data(request)
    refuse_writing_into_the_corpus(config, files, scanned and scanned.root)
    refuse_writing_into_the_corpus(config, files, config.test_data and Path(config.test_data))
    identity = run_identity(config, data_identity)
    if already_finished(config, files, identity):
        return None
    with claimed(config, files):
        return _all_folds(config, device, files, identity, load_corpus(request, log, scanned), request, log)


def _all_folds(config: RunConfig, device: torch.device, files: results.RunFiles, identity: dict,
               corpus: CorpusData, request: DataRequest, log) -> dict:
    folds = []
    for fold in fold_numbers(request, corpus.utterances, corpus.rows):
        # A fold finished earlier is skipped by run_training; its results.json still counts.
        run_training(dataclasses.replace(config, fold=fold), device, corpus)
        fold_json = config.files(fold).results_json
        try:
            summary = json.loads(fold_json.read_text())
        except (OSError, ValueError):
            summary = None
        if summary is None or summary["args"]["seed"] != config.seed:
            raise RunError(f"fold {fold} of seed {config.seed} is listed as finished but {fold_json} does not "
                           "hold its results; rerun with --force")
        folds.append(summary)

    metrics = ("WA", "UA", "macro_f1", "weighted_f1", "WA_UA_mean")
    values = {m: [f["best"][m] for f in folds] for m in metrics}
    stats = {m: results.mean_std(v) for m, v in values.items()}
    mean = {m: average for m, (average, _) in stats.items()}
    std = {m: spread for m, (_, spread) in stats.items()}
    class_names = folds[0]["class_names"]
    counts = np.sum([f["confusion_matrix"]["counts"] for f in folds], axis=0)
    aggregate = {
        "args": config.resolved_args(),
        "protocol": protocol_description(config.protocol),
        "protocol_name": config.protocol,
        "fold": None,
        "split": {"name": folds[0]["split"].get("name", config.protocol), "folds": len(folds),
                  "speaker_independent": all(f["split"].get("speaker_independent", False) for f in folds)},
        "labels": config.labels,
        "class_names": class_names,
        "folds": [{"fold": f["fold"], "run_dir": str(config.files(f["fold"]).run_dir),
                   "test_utterances": f["split"]["test_utterances"], "best_epoch": f["best_epoch"], **f["best"]}
                  for f in folds],
        "mean": mean,
        "std": std,
        "std_kind": "population (numpy ddof=0) over folds",
        "confusion_matrix": {"rows_true_columns_predicted": class_names, "counts": counts.tolist(),
                             "summed_over_folds": True},
    }
    aggregate["identity"] = identity
    try:
        files.run_dir.mkdir(parents=True, exist_ok=True)
        write_json(files.last_json, config.resolved_args())
        results.write_finished_run(files, aggregate, config.seed, mean, identity)
    except OSError as error:
        raise RunError(f"cannot write the fold mean of seed {config.seed} ({error}); free some space or pass -d "
                       "a writable path") from None
    print(f"{config.model} seed {config.seed}, {config.protocol} over {len(folds)} folds: "
          + ", ".join(f"{name} {mean[m]:.2f} ± {std[m]:.2f}%" for name, m in
                    (("WA", "WA"), ("UA", "UA"), ("macro F1", "macro_f1"), ("weighted F1", "weighted_f1"))))
    return aggregate


def run_seeds(config: RunConfig, device: torch.device) -> dict:
    """``--seeds N``: the next N seeds of the seeds file that are neither finished nor being
    trained, each in ``DATADIR/<seed>`` (``-d`` names the model folder) with exactly the files
    ``--seed S -d DATADIR/S`` writes alone. They train together in this process on one device
    (``ser.training.stacked``: one copy of the features, each kernel doing every seed's work) when the
    stacked engine covers the run, else one after another in this process, from the same
    prepared corpus. Returns each seed's summary."""
    why = multiseed_refusal(config)
    if why is None:
        return train_seeds_together(config, device)
    log_for(config)(f"--seeds {config.seeds}: one seed after another ({why})")
    return train_seeds_in_turn(config, device)


def candidate_seeds(config: RunConfig) -> list[int]:
    """The seeds ``--seeds`` takes in order: ``--seed_list``, else the seeds file's."""
    return list(config.seed_list) if config.seed_list is not None else read_seeds(config.seeds_file)


def multiseed_refusal(config: RunConfig) -> str | None:
    """Why these seeds cannot train in one process (None: they can)."""
    if not stacked.supported(config.model, config.model_options()):
        return f"-m {config.model} has no batched multi-seed engine"
    for flag, on in (("--mixup seed004", config.mixup != "glam"), ("--stability_weight", config.stability_weight > 0),
                     ("--pooling log_softmax", config.pooling != "logits"), ("--minmax", bool(config.minmax)),
                     ("--oversample", bool(config.oversample)), ("--iter", config.iter > 1),
                     ("--compile", config.compile), ("--toSaveFeatures", config.toSaveFeatures),
                     ("--featuresFileName",
                      bool(config.featuresFileName) or uses_original_pickle(data_request(config))),
                     ("--test_corpus", config.test_corpus is not None),
                     (f"every fold of --protocol {config.protocol}", config.runs_every_fold)):
        if on:
            return f"the multi-seed engine does not cover {flag}"
    return None


def seeds_resume_file(config: RunConfig, files: results.RunFiles) -> Path:
    return Path(config.datadir) / f"resume_seeds_{files.stem}.pt"


def seed_run(config: RunConfig, seed: int) -> RunConfig:
    """Seed ``seed`` of a ``--seeds`` run, as ``--seed S -d DATADIR/S`` configures it alone."""
    return dataclasses.replace(config, seed=seed, datadir=str(Path(config.datadir) / str(seed)), seeds=1)


def claim_next_seeds(config: RunConfig, claims: ClaimSet, finished: Callable[[RunConfig], bool]) -> list[RunConfig]:
    """The next ``--seeds N`` seeds of the seeds file that no live run holds, each claimed in
    ``claims`` before the next is looked at (a run started meanwhile takes others) and then
    left if ``finished`` (asked once claimed, so that a run finished meanwhile is seen)."""
    chosen = []
    for seed in candidate_seeds(config):
        if len(chosen) == config.seeds:
            break
        one = seed_run(config, seed)
        claim = one.files().claim(seed)
        try:
            taken = claims.take(claim)
        except OSError as error:
            raise RunError(f"cannot write to the results folder {claim.parent.parent} ({error}); pass -d a writable "
                           "path") from None
        if not taken:
            continue  # another run trains it right now: the next seed instead
        if finished(one):
            claims.release(claim)
        else:
            chosen.append(one)
    return chosen


def train_seeds_together(config: RunConfig, device: torch.device) -> dict:
    """The seeds of ``--seeds N`` trained in lockstep in this process (see :func:`run_seeds`)."""
    log, request = log_for(config), data_request(config)
    data_identity, scanned = identify_data(request)

    def finished(one: RunConfig) -> bool:
        refuse_writing_into_the_corpus(one, one.files(), scanned and scanned.root)
        return already_finished(one, one.files(), run_identity(one, data_identity), quiet=True)

    with ClaimSet(claim_holder("train.py --seeds, ")) as claims:
        chosen = [(one, one.files(), run_identity(one, data_identity))
                  for one in claim_next_seeds(config, claims, finished)]
        if not chosen:
            print(f"every seed of {config.seeds_file} is finished or being trained: nothing to train")
            return {}
        return _train_together(config, device, chosen, load_corpus(request, log, scanned), log)


def _train_together(config: RunConfig, device: torch.device, chosen: list, corpus: CorpusData, log) -> dict:
    seeds = [one.seed for one, _, _ in chosen]
    log(f"training seeds {', '.join(map(str, seeds))} together in one process on {device}")
    if corpus.synthetic:
        log(synthetic_note(config.corpus))
    started = time.perf_counter()
    train_pool = seed_runs.SegmentPool.from_utterances(corpus.train_feats, corpus.labels, corpus.shape)
    eval_pool = seed_runs.SegmentPool.from_utterances(corpus.test_feats, corpus.labels, corpus.shape)
    num_classes, runs, parts = len(config.class_names), [], []
    # The segments stay in the shared pools: each seed's parts hold only what its results name.
    no_segments = np.zeros((0, *corpus.shape), dtype=np.float32)
    for one, _, _ in chosen:
        rng = seed_everything(one.seed)  # the split draws from it first, as the seed's solo run
        request = data_request(one)
        split, order, fold_report = split_order(request, corpus, rng)
        rows = train_pool.train_rows(order)
        segment_labels = train_pool.y[rows]
        if one.batch_size > len(rows):
            raise RunError(f"--batch_size {one.batch_size} is larger than seed {one.seed}'s training set "
                           f"({len(rows)} segments); use -b {len(rows)} or less")
        weights = inverse_frequency_weights(segment_labels, num_classes) if config.weight else None
        runs.append(seed_runs.SeedRun(one.seed, rng, rows, eval_pool.scored(split.test),
                                      eval_pool.scored(split.validation) if split.validation else None, weights))

        def scored(part: list[int]) -> TestUtterances:
            return TestUtterances(X=no_segments, owner=np.zeros(0, dtype=np.int64), y=corpus.labels[part],
                                  names=[corpus.utterances[i].turn for i in part])
        folds = len(fold_numbers(request, corpus.utterances, corpus.rows)) if is_multi_fold(one.protocol) else 1
        parts.append(RunData(TrainSegments(X=no_segments, y=segment_labels), scored(split.test),
                             scored(split.validation) if split.validation else None, split.protocol,
                             split_info(split, corpus.labels, segment_labels, corpus.labels[split.test]), None,
                             corpus, split_record(split, corpus, folds), fold_report))
    feature_seconds = time.perf_counter() - started
    resume_file = seeds_resume_file(config, chosen[0][1])
    saved = _seeds_resume_state(config, resume_file, seeds, log)
    runlogs = []
    for k, ((one, files, _), data) in enumerate(zip(chosen, parts)):
        open_run_dir(files, one)
        state = RunState(one.resume_args(), epoch_rows=list(saved["epoch_rows"][k]) if saved else [])
        runlogs.append(RunLog(files, state, seed=one.seed, model=config.model, epochs=config.epochs,
                              class_names=config.class_names, selection_labels=data.selection.y,
                              validated=data.validation is not None, save_resume=False,
                              tensorboard=config.tensorboard, quiet=True))
        runlogs[-1].start_iteration(0, 0 if saved is None else saved["state"]["next_epoch"])
    clock = time.perf_counter() - (saved["running_time"] if saved else 0.0)

    def checkpoint(state: dict) -> None:  # after every epoch of every seed
        bar.update()
        if config.save_resume_state:
            save_resume_state(resume_file, {"args": config.resume_args(), "seeds": seeds, "state": state,
                                            "epoch_rows": [rl.state.epoch_rows for rl in runlogs],
                                            "running_time": time.perf_counter() - clock})

    options = seed_runs.MultiSeedOptions(**dataclasses.asdict(config.fit_options()), alpha=config.alpha)
    bar = tqdm(total=config.epochs, initial=0 if saved is None else saved["state"]["next_epoch"],
               desc=f"{config.model} {len(seeds)} seeds", unit="epoch", disable=config.quiet)
    try:
        outcomes = stacked.fit_seeds(
            config.model, corpus.shape, num_classes, runs, train_pool, eval_pool, device, options,
            model_options=config.model_options(), resume=None if saved is None else saved["state"],
            observers=runlogs, checkpoint=checkpoint)
    finally:
        bar.close()
        for runlog in runlogs:
            runlog.end_iteration()
            runlog.close()
    running_time = time.perf_counter() - clock
    summaries = {}
    for (one, files, identity), data, outcome in zip(chosen, parts, outcomes):
        best = BestSoFar(outcome.best, outcome.history, outcome.best_state, outcome.test)
        summaries[one.seed] = finish_run(one, data, best, device, feature_seconds, running_time, files, identity)
    resume_file.unlink(missing_ok=True)
    return summaries


def _seeds_resume_state(config: RunConfig, path: Path, seeds: list[int], log) -> dict | None:
    """The saved state of these seeds' interrupted run to continue with --resume, or None."""
    if not path.exists():
        return None
    if not config.resume:
        log(f"NOTE: {path} holds an interrupted run; starting afresh and replacing it (pass --resume to continue "
            "it instead)")
        return None
    try:
        saved = load_resume_state(path)
    except CheckpointError as error:
        raise RunError(str(error)) from None
    if saved.get("seeds") != seeds or saved.get("args") != config.resume_args():
        raise RunError(f"{path} was saved by another --seeds run (seeds {saved.get('seeds')}, or other arguments); "
                       "rerun that command to continue it, or delete the file to start afresh")
    log(f"Resuming seeds {', '.join(map(str, seeds))} from {path.name}: {saved['state']['next_epoch']} epoch(s) done")
    return saved


def train_seeds_in_turn(config: RunConfig, device: torch.device) -> dict:
    """The seeds of ``--seeds N`` one after another in this process, each run exactly as alone
    (every flag of a single run applies), the corpus scanned and its features computed once.
    All N seeds are claimed before the first starts, so that a run started meanwhile takes
    other seeds; each run's own claim of its seed works under that claim."""
    log = log_for(config)
    with ClaimSet(claim_holder("train.py --seeds, ")) as claims:
        chosen = claim_next_seeds(config, claims, lambda one: one.seed in results.seeds_done(one.files().metric))
        if not chosen:
            print(f"every seed of {config.seeds_file} is finished or being trained: nothing to train")
            return {}
        request = data_request(config)
        shared = None if config.runs_every_fold or uses_original_pickle(request) else load_corpus(request, log)
        log(f"training seeds {', '.join(str(one.seed) for one in chosen)} one after another")
        summaries = {}
        with claims.in_this_process():
            for one in chosen:
                summaries[one.seed] = run_all_folds(one, device) if one.runs_every_fold else run_training(one, device,
                                                                                                          shared)
        return summaries
