"""The model registry: a model registered from outside the package (here, from this test) is a
``-m`` choice, trains through train.py with its entry's recipe as defaults, and, as it declares
itself stackable, trains K seeds in one process with ``--seeds``; the entries hold what config
used to spell out (AlexNet's recipe and scaling, the stacked engine's models, the option flags)."""
import pytest
import torch
import torch.nn as nn

import models
import train
from ser.runs import config, flags
from ser.training import stacked

TOY = "ToyConvNet"
TOY_RECIPE = models.ModelRecipe(source="the toy's recipe", flags={"batch_size": 8, "optimizer": "sgd"})


class ToyConvNet(nn.Module):
    """One 3×3 convolution, ReLU, global average pooling, linear."""

    def __init__(self, num_classes: int, width: int):
        super().__init__()
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.fc = nn.Linear(width, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x)).mean(dim=(2, 3))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def toy_conv_net(*, shape, num_classes: int = 4, width: int = 4) -> ToyConvNet:
    """A tiny conv net (this test's)."""
    return ToyConvNet(num_classes, width)


@pytest.fixture
def toy_model():
    models.register_model(TOY, stackable=True, recipe=TOY_RECIPE)(toy_conv_net)
    yield TOY
    models.unregister_model(TOY)


def toy_args(corpus, run_dir, *flags) -> list[str]:
    return ["-m", TOY, "--data", str(corpus), "--quiet", "-d", str(run_dir),
            "--cache_dir", str(run_dir.parent / "cache"), "-g", "-1", "--train_overlap", "0", "--test_overlap", "0",
            "-e", "1", *flags]


def test_a_registered_model_is_a_choice_with_its_recipe_in_the_help(toy_model):
    action = next(a for a in flags.get_args_parser()._actions if a.dest == "model")
    assert toy_model in action.help and "the toy's recipe" in action.help
    given = {a.dest: a.option_strings[0] for a in flags.get_args_parser()._actions if a.option_strings}
    assert {option.dest: option.flag for option in models.option_flags().values()}.items() <= given.items()


def test_a_registered_model_trains_alone_and_stacked(toy_model, tiny_corpus, tmp_path):
    alone = train.main(toy_args(tiny_corpus, tmp_path / "alone"))
    assert alone["args"]["model"] == toy_model and alone["args"]["batch_size"] == 8  # its recipe's
    notes = config.resolve_args(toy_args(tiny_corpus, tmp_path / "alone")).notes
    assert alone["args"]["optimizer"] == "sgd" and any("the toy's recipe" in note for note in notes)
    assert stacked.supported(toy_model) and toy_model in stacked.stackable_models()
    together = train.main(toy_args(tiny_corpus, tmp_path / "together", "--seeds", "2", "-b", "4"))
    assert len(together) == 2 and all(summary["args"]["batch_size"] == 4 for summary in together.values())
    assert all(summary["args"]["optimizer"] == "sgd" for summary in together.values())


def test_the_entries_hold_the_facts_config_used_to_spell_out():
    downstreams = ["linear", "mlp", "ssl_linear", "ssl_mlp"]  # models.ssl's heads stack too
    assert sorted(models.list_models(paper_only=True) + downstreams) == sorted(stacked.stackable_models())
    assert not models.model_entry("alexnet").stackable and models.model_entry("alexnet_gap").recipe.minmax
    assert models.model_entry("ssl_mlp").recipe.flags["epochs"] == 20  # models.ssl.RECIPES' EmoBox recipe
    assert models.model_entry("GLAM").recipe is None and models.model_entry("MACNN").name == "MHCNN"
    assert models.option_flags()["num_heads"].flag == "--head"
