"""ser.runs.config: the command line, -c CONFIG under it, model options owned by the models."""
import dataclasses
import json

import pytest

from ser.runs.config import ConfigError, RunConfig, resolve_args
from ser.runs.flags import get_args_parser


def test_every_flag_is_a_field_of_the_run_configuration():
    dests = {action.dest for action in get_args_parser()._actions} - {"help"}
    fields = {field.name for field in dataclasses.fields(RunConfig)}
    assert fields - dests == {"user_config", "default_iemocap", "given", "notes", "classes", "folds_from_sha256"}
    assert dests <= fields


def test_a_config_file_lies_under_the_command_line(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"alpha": 0, "epochs": 3, "weight": False, "optimizer": "sgd"}))
    from_file = resolve_args(["-c", str(config)])
    assert (from_file.alpha, from_file.epochs, from_file.weight, from_file.optimizer) == (0.0, 3, False, "sgd")
    overridden = resolve_args(["-c", str(config), "-e", "5", "--alpha", "0.3"])
    assert (overridden.epochs, overridden.alpha, overridden.optimizer) == (5, 0.3, "sgd")
    # results of a configured run go to .same files, as the original names them
    assert from_file.user_config and from_file.suffix == ".same" and resolve_args([]).suffix == ".metric"


def test_a_config_file_false_value_turns_a_switch_off(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"save_resume_state": False, "loadFeatures": 0}))
    resolved = resolve_args(["-c", str(config)])
    assert resolved.save_resume_state is False and resolved.loadFeatures == 0


@pytest.mark.parametrize("argv, message", [
    (["-m", "GLAM", "--head", "8"], "--head sets attention heads; -m GLAM has none"),
    (["-m", "GLAM", "--attn_hidden", "16"], "-m GLAM has none"),
    (["-m", "MHCNN", "--image_size", "128"], "--image_size sets an image size; -m MHCNN has none"),
    (["-m", "MHCNN", "--head", "0"], "num_heads must be at least 1, not 0 (change --head)"),
    (["-m", "MHResMultiConv3", "--attn_hidden", "-2"], "attn_hidden must be at least 1, not -2 (change --attn_hidden)"),
])
def test_an_option_the_model_cannot_take_is_refused(argv, message):
    with pytest.raises(ConfigError) as refused:
        resolve_args(argv)
    assert message in str(refused.value)


def test_given_options_reach_the_model_and_the_rest_are_the_models_own():
    plain, chosen = resolve_args(["-m", "MHCNN"]), resolve_args(["-m", "MACNN", "--head", "2"])
    assert plain.model_options() == {} and plain.head is None
    assert chosen.model_options() == {"num_heads": 2}
    assert chosen.effective_model_options() == {"num_heads": 2, "attn_hidden": 64}
    assert resolve_args(["-m", "alexnet_gap", "-f", "logspec"]).model_options() == {"in_channels": 1}


def test_seed_004s_models_train_with_seed_004s_recipe_unless_a_flag_says_otherwise(tmp_path):
    plain = resolve_args(["-m", "alexnet_gap"])
    assert (plain.optimizer, plain.learning_rate, plain.lr_schedule, plain.alpha, plain.select_on, plain.pooling,
            plain.labels, plain.features_to_use, plain.minmax) == (
        "adamw", 1e-4, "constant", 0.0, "WA", "log_softmax", "seed004", "logspec", True)
    assert len(plain.notes) == 1 and "seed 004's own recipe" in plain.notes[0] and "--optimizer adamw" in plain.notes[0]
    emodb = resolve_args(["-m", "alexnet", "--corpus", "emodb"])
    assert emodb.labels == "emodb" and emodb.epochs == 200
    chosen = resolve_args(["-m", "alexnet_gap", "--optimizer", "adam", "--alpha", "0.4", "-e", "3",
                           "--labels", "seed004exc"])
    assert (chosen.optimizer, chosen.alpha, chosen.epochs, chosen.labels, chosen.learning_rate) == (
        "adam", 0.4, 3, "seed004exc", 1e-4)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"learning_rate": 0.01}))
    assert resolve_args(["-m", "alexnet_gap", "-c", str(config)]).learning_rate == 0.01  # the file's value wins too
    glam = resolve_args([])
    assert (glam.optimizer, glam.alpha, glam.notes) == ("adam", 0.5, ())  # GLAM's models keep GLAM's recipe
