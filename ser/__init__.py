"""The SER pipeline behind the top-level scripts: corpus → features → split → train → results.

Modules: ``corpora`` (IEMOCAP trees and manifests), ``synth`` (synthetic corpora),
``features`` (segmentation and feature kinds), ``dataset`` (feature cache and arrays),
``splits`` (protocols), ``engine`` (training and evaluation), ``metrics``, ``results``.
"""
__version__ = "0.1.0"
