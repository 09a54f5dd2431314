"""Random-weight upstream folders in the Hugging Face layout, for tests and speed measurements.

    save_random_upstream(folder, "wavlm")                       # tiny: 2 layers, D = 32, 3 convolutions
    save_random_upstream(folder, "wav2vec2", size="base")       # transformers' default config: D = 768, 12 layers

Nothing is downloaded: the model is built from a config with transformers, its weights drawn
from a seeded generator, and saved with ``save_pretrained`` beside a preprocessor config, so
``ser.features.upstream.load_upstream`` reads it exactly as it reads a released checkpoint.

The tiny size keeps what makes each family and front end differ: three convolutions (kernels
10, 8, 4; strides 5, 4, 4: 200 frames per second, a receptive field of 105 samples), the
convolutional positional embedding (data2vec-audio's two stacked layers of kernel 5, the
others' one of kernel 16), WavLM's relative position buckets, and the front end's norm.
``front_end="group"`` is the base models' (group norm over time in the first convolution,
post-layer-norm encoder); ``"layer"`` the large models' (layer norm per frame, the
pre-layer-norm "stable" encoder; data2vec-audio has only the layer-norm front end).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from ser.features.upstream import FAMILIES, SAMPLE_RATE, WEIGHT_FILES, transformers_offline

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            conv_dim=(16, 16, 16), conv_stride=(5, 4, 4), conv_kernel=(10, 8, 4),
            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4)
TINY_FAMILY = {"wavlm": dict(num_buckets=16, max_bucket_distance=80),
               "data2vec-audio": dict(num_conv_pos_embeddings=2, conv_pos_kernel_size=5)}


def save_random_upstream(folder: str | os.PathLike, family: str, size: str = "tiny", front_end: str | None = None,
                         do_normalize: bool = True, return_attention_mask: bool | None = None,
                         sampling_rate: int = SAMPLE_RATE, seed: int = 0, safetensors: bool = True) -> Path:
    """A random ``family`` model of ``size`` ("tiny" or "base") saved in ``folder``; the
    preprocessor config takes ``do_normalize``, ``sampling_rate`` and ``return_attention_mask``
    (default: set for a layer-norm front end, as the released checkpoints do)."""
    with transformers_offline():
        import transformers
        from safetensors.torch import load_file
        from transformers import Wav2Vec2FeatureExtractor

        model_class = getattr(transformers, FAMILIES[family])
        front_end = front_end or ("layer" if family == "data2vec-audio" else "group")
        if family == "data2vec-audio" and front_end != "layer":
            raise ValueError("data2vec-audio has a layer-norm front end only")
        options = {**TINY, **TINY_FAMILY.get(family, {})} if size == "tiny" else {}
        if family != "data2vec-audio":
            options.update(feat_extract_norm=front_end, do_stable_layer_norm=front_end == "layer")
        torch.manual_seed(seed)
        model = model_class(model_class.config_class(**options)).eval()
        folder = Path(folder)
        model.save_pretrained(folder)
        if not safetensors:  # transformers 5 saves safetensors only; the same tensors in torch's format
            safe, legacy = (folder / name for name in WEIGHT_FILES)
            torch.save(load_file(safe), legacy)
            safe.unlink()
        if return_attention_mask is None:
            return_attention_mask = front_end == "layer"
        Wav2Vec2FeatureExtractor(sampling_rate=sampling_rate, do_normalize=do_normalize,
                                 return_attention_mask=return_attention_mask).save_pretrained(folder)
    return folder
