"""Models of the GLAM paper (ICASSP 2022) and its baselines, chosen by name.

    from models import create_model, list_models
    model = create_model("GLAM", shape=(26, 57))       # (B, 1, 26, 57) -> (B, 4)

``list_models(paper_only=True)`` gives the 21 names of the original ``models.py``
(``list_models()`` adds seed 004's AlexNets and the self-supervised and eGeMAPS downstreams of
``ssl``); the original README's spellings ``MACNN``, ``APCNN`` and ``MAResMultiConv3`` are
accepted as aliases. Every model of the paper is a ``SerNet`` (trunk + head) whose
``state_dict`` keys and shapes equal the original class's.
Layout: ``layers`` (units, stems, multi-scale blocks), ``trunks``, ``heads``,
``area_attention``, ``net`` (the model class), and the declarations in ``glam`` and ``macnn``.
"""
# importing the families registers their builders (glam, macnn: GLAM's; alexnet: seed 004's;
# ssl: the downstreams on self-supervised features and eGeMAPS)
from . import alexnet, glam, macnn, ssl  # noqa: F401
from .net import SerNet, print_summary
from .registry import (
    MAPS,
    ModelEntry,
    ModelOptionError,
    ModelRecipe,
    OptionFlag,
    check_input,
    check_options,
    create_model,
    list_models,
    model_defaults,
    model_entry,
    model_options,
    option_flags,
    register_model,
    register_option_flag,
    resolve_name,
    unregister_model,
)

__all__ = ["MAPS", "ModelEntry", "ModelOptionError", "ModelRecipe", "OptionFlag", "SerNet", "check_input",
           "check_options", "create_model", "list_models", "model_defaults", "model_entry", "model_options",
           "option_flags", "print_summary", "register_model", "register_option_flag", "resolve_name",
           "unregister_model"]
