"""Runners: many runs at once, and the measurements of the project's speed.

Holds the seed and grid sweeps on local GPUs or Ray (``sweep``: the command line and driver;
``sweep_grid``: the recipes and tasks; ``sweep_backends``: the backends and retries), the cross-corpus and
cross-validation runner (``crossval``), the feature and training benchmark against the original
code's way (``bench``) and the upstream extraction benchmark (``upstream_bench``). It may import
``ser.runs`` and everything below it, including ``ser.synthetic`` for the corpora it measures on.
"""
