"""Protocols: which utterances train, validate and test, fold by fold.

Each protocol is one registered entry (``base.Protocol``: its split, folds, which corpora it
fits, its result names and report captions), looked up by name through ``registry``: the
paper's random split, the honest speaker- and session-independent protocols and a corpus's
own partition and folds (``splits``), and published fold files such as EmoBox's
(``published``, read and checked against a corpus by ``foldfiles``). It may import
``ser.corpora`` (the rows it splits) and the shared modules; features and training never
flow back into it.
"""
