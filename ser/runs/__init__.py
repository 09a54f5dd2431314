"""Runs: one training run from command line to result files, as a recipe of the stages below.

Holds the command line and the resolved run configuration (``config``), the preparation of a
run's data: corpus, features, split (``data``), the recipe that trains and records it
(``pipeline``) and the run's log and identity (``runlog``). It may import every stage before it
(``ser.corpora``, ``ser.features``, ``ser.protocols``, ``ser.training``, ``ser.records``,
``models``) and the shared modules; nothing below imports it.
"""
