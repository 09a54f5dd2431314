"""Synthetic corpora: generated stand-ins for the licensed ones, for the demo, the tests and benchmarks.

Holds the IEMOCAP-layout generator (``synth``: the corpus plan, label files and folder) with
the voices, profiles and signal every generator renders (``synth_voice``), emoDB's layout
(``synth_emodb``), the other corpus layouts built from it (``synth_corpora``) and tiny random
self-supervised upstreams written as a Hugging Face folder (``synth_upstream``). Nothing here
is real speech; numbers measured on it say nothing about the real corpora. It may import
``ser.corpora`` and ``ser.features`` (to write what their readers read) and the shared modules.
"""
