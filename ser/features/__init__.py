"""Features: from an utterance's samples to the arrays a model reads, and the one cache that keeps them.

Holds the audio readers and streams (``audio``), GLAM's segment-wise MFCC, filterbank and
spectrogram kinds computed as the original computes them (``glam``) and their batched torch
twin (``torch_backend``), seed 004's spectrogram images (``spectral``, ``spectral_stream``),
the self-supervised upstreams read from a local folder (``upstream``), openSMILE's eGeMAPS
functionals (``egemaps``), per-speaker feature files (``speaker_file``), the settings that name
a feature kind (``kinds``) and the content-addressed feature cache (``cache``). It may import
``ser.corpora`` (the rows it computes features of) and the shared modules, nothing later.
"""
