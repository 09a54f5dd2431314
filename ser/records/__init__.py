"""Records: the files a run leaves behind and the only code that names and reads them.

Holds the result files (``results``: the ``.metric`` and ``.loss`` lines, ``results.json``,
run names and their parsing) and checkpoints with the settings needed to use them again
(``checkpoint``). It may import the stages whose facts a record names (``ser.corpora``,
``ser.features``, ``ser.protocols``, ``ser.training``, ``models``) and the shared modules.
"""
