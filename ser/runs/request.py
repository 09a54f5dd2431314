"""What a run asks of its data stage, resolved once from its configuration: which corpus and
rows, which features and where they are cached, which split, and what is done to the training
set. ``ser.runs.data`` reads these settings and nothing else of the run's configuration."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ser.corpora import registry
from ser.features.kinds import Settings
from ser.runs.config import RunConfig, resolve_device


@dataclass(frozen=True)
class DataRequest:
    """What a run asks of its data, resolved once from its configuration (:func:`data_request`):
    which corpus and rows, which features and where they are cached, which split, and what is
    done to the training set. The functions of this module read nothing else."""
    # the corpus and its rows
    corpus: str
    data: str | None
    default_iemocap: str
    reader_options: dict[str, dict]  # corpus name -> its reader's keyword arguments from the flags
    impro_or_script: str
    labels: str
    label_map: dict[str, int]
    class_names: tuple[str, ...]
    test_corpus: str | None
    test_data: str | None
    folds_from: str | None
    folds_from_sha256: str
    allow_missing_listed: bool
    features_file: str | None
    features_pickle: str
    loadFeatures: bool
    toSaveFeatures: bool
    # the features
    features: Settings
    features_to_use: str
    feature_backend: str  # librosa or torch, resolved for the device
    device: torch.device
    sample_rate: int
    segment_length: float
    padding: bool
    train_overlap: float
    test_overlap: float
    cache_dir: str
    quiet: bool
    # the split
    protocol: str
    fold: int | None
    folds: int | None
    fold_seed: int
    split_rate: float
    val_id: str | None
    test_id: str | None
    # the training set
    aug: str | None
    oversample: str | None
    minmax: bool | None
    batch_size: int
    stability_source: str
    stability_from_wavs: bool


def data_request(config: RunConfig) -> DataRequest:
    """The run's :class:`DataRequest`: every setting of its data, read from ``config`` once."""
    names = [name for name in (config.corpus, config.test_corpus) if name is not None]
    device = resolve_device(config.gpu)
    return DataRequest(
        corpus=config.corpus, data=config.data, default_iemocap=config.default_iemocap,
        reader_options={name: {keyword: getattr(config, flag)
                               for keyword, flag in registry.corpus(name).reader_flags.items()} for name in names},
        impro_or_script=config.impro_or_script, labels=config.labels, label_map=config.label_map(),
        class_names=tuple(config.class_names), test_corpus=config.test_corpus, test_data=config.test_data,
        folds_from=config.folds_from, folds_from_sha256=config.folds_from_sha256,
        allow_missing_listed=config.allow_missing_listed, features_file=config.features_file,
        features_pickle=config.features_pickle, loadFeatures=config.loadFeatures, toSaveFeatures=config.toSaveFeatures,
        features=config.feature_settings(), features_to_use=config.features_to_use,
        feature_backend=config.feature_backend_on(device), device=device, sample_rate=config.sample_rate,
        segment_length=config.segment_length, padding=config.padding, train_overlap=config.train_overlap,
        test_overlap=config.test_overlap, cache_dir=config.cache_dir, quiet=config.quiet, protocol=config.protocol,
        fold=config.fold, folds=config.folds, fold_seed=config.fold_seed, split_rate=config.split_rate,
        val_id=config.val_id, test_id=config.test_id, aug=config.aug, oversample=config.oversample,
        minmax=config.minmax, batch_size=config.batch_size, stability_source=config.stability_source,
        stability_from_wavs=config.stability_from_wavs)
