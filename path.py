"""Where the IEMOCAP corpus lives: the one place to set it.

Edit ``DEFAULT_IEMOCAP_DIR`` below, or set the environment variable ``IEMOCAP_DIR``
(which wins); ``train.py --data PATH`` and ``handleIEMOCAP.py --data PATH`` override both
for one run. The directory is the ``IEMOCAP_full_release`` folder holding ``Session1`` …
``Session5``. When nothing is configured, ``./run`` trains on a synthetic demo corpus instead.

The original GLAM code defined ``datasets_path`` here but imported ``IEMOCAP`` elsewhere;
both old names are kept as aliases of ``IEMOCAP_DIR`` so old scripts keep working.
"""
import os

DEFAULT_IEMOCAP_DIR = ""

IEMOCAP_DIR: str = os.environ.get("IEMOCAP_DIR", DEFAULT_IEMOCAP_DIR)

datasets_path = IEMOCAP = IEMOCAP_DIR
