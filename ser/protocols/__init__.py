"""Protocols: which utterances train, validate and test, fold by fold.

Holds the paper's random split and the honest speaker- and session-independent protocols with
their folds and validation rules (``splits``), and published fold files such as EmoBox's read
and checked against a corpus (``foldfiles``). It may import ``ser.corpora`` (the rows it
splits) and the shared modules; features and training never flow back into it.
"""
