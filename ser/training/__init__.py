"""Training: one epoch loop for one seed or K stacked seeds, and everything a step needs.

Holds the epoch loop and its stepper interface with the one-seed stepper (``engine``), the
K-seed stepper that trains seeds stacked in one set of tensors (``stacked``, with its segment
pools, seed runs and epoch plans in ``seed_runs`` and the parts of its step in ``stacked_step``), the datasets and
scaler (``dataset``), mixup and the other augmentations (``augment``) and utterance scoring and
metrics (``metrics``). It reads arrays and labels, not corpora or files: it may import
``models`` and the shared modules only, so the same loop serves every corpus and feature kind.
"""
