"""Models of the GLAM paper (ICASSP 2022) and its baselines, chosen by name.

    from models import create_model, list_models
    model = create_model("GLAM", shape=(26, 57))       # (B, 1, 26, 57) -> (B, 4)

``list_models()`` gives the 21 names of the original ``models.py``; the original README's
spellings ``MACNN``, ``APCNN`` and ``MAResMultiConv3`` are accepted as aliases. Every model is
a ``SerNet`` (trunk + head) whose ``state_dict`` keys and shapes equal the original class's.
Layout: ``layers`` (units, stems, multi-scale blocks), ``trunks``, ``heads``,
``area_attention``, ``net`` (the model class), and the declarations in ``glam`` and ``macnn``.
"""
# importing the families registers their builders (glam, macnn: GLAM's; alexnet: seed 004's)
from . import alexnet, glam, macnn  # noqa: F401
from .net import SerNet, print_summary
from .registry import (
    ModelOptionError,
    check_input,
    check_options,
    create_model,
    list_models,
    model_defaults,
    model_options,
    register_model,
    resolve_name,
)

__all__ = ["ModelOptionError", "SerNet", "check_input", "check_options", "create_model", "list_models",
           "model_defaults", "model_options", "print_summary", "register_model", "resolve_name"]
