"""Serving: a trained model used on new audio.

Holds prediction on files, arrays and long recordings in bounded memory (``inference``), the
per-window timeline of a recording (``timeline``) and ONNX export (``export``). A reader of
checkpoints: it may import ``ser.features`` (the same features the model was trained on),
``ser.records``, ``models`` and the scoring functions of ``ser.training``, never its epoch loop.
"""
