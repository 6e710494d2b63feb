"""The preset ladder: every preset is a valid recipe with its own target line, and each broken-on-purpose init shows
what it is there to show."""
import pytest

from mlp_lm.cli import build_parser, resolve_configs
from mlp_lm.config import TrainConfig
from mlp_lm.diagnostics import fixed_batch, health, read_initial_loss
from mlp_lm.fast import use_tables
from mlp_lm.model import ModelConfig, init_params
from mlp_lm.presets import PRESETS, TARGETS, split_preset, target


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_valid_recipe_with_a_target(name):
    m, t = split_preset(name)
    ModelConfig(**m)
    TrainConfig(**t)
    assert target(name) is TARGETS[name] and 1.5 < TARGETS[name].dev < 2.5 and TARGETS[name].label


def test_the_lecture_preset_is_unchanged():
    assert PRESETS["lecture"] == dict(block_size=3, emb_dim=10, hidden=200, init="lecture", steps=200_000, batch_size=32,
                                      optimizer="sgd", lr=0.1, lr2=0.01, decay_step=100_000, schedule="step",
                                      weight_decay=0.0)
    assert TARGETS["lecture"].dev == 2.17 and TARGETS["init_fixed"].dev == 2.10


def test_part_3_presets_differ_from_the_lecture_only_in_the_init():
    for name, init in (("saturated", "saturated"), ("init_fixed", "scaled")):
        assert PRESETS[name] == {**PRESETS["lecture"], "init": init}


def test_the_ladder_shows_each_diagnostic(small_ds):
    Xb, Yb = fixed_batch(small_ds.Xtr, small_ds.Ytr, 0)
    hl = {n: health(init_params(ModelConfig(**split_preset(n)[0])), Xb, Yb, 0.1) for n in ("lecture", "saturated", "init_fixed")}
    assert read_initial_loss(hl["lecture"].loss, 27).reading.startswith("confidently wrong")
    assert read_initial_loss(hl["saturated"].loss, 27).reading.startswith("as expected")
    assert hl["saturated"].saturated > 0.6 and hl["init_fixed"].saturated < 0.3


def test_beyond_is_past_the_lecture_and_runs_on_the_lookup_tables():
    m, t = split_preset("beyond")
    assert m["block_size"] == 8 and t["optimizer"] == "adamw" and t["schedule"] == "onecycle" and t["weight_decay"] > 0
    assert use_tables(27, m["emb_dim"], m["block_size"], m["hidden"], t["batch_size"])
    assert TARGETS["beyond"].dev <= 1.98


def test_cli_takes_every_preset_and_flags_override_it():
    for name in PRESETS:
        args = build_parser().parse_args(["train", "--preset", name])
        mcfg, tcfg = resolve_configs(args, 27)
        assert mcfg.hidden == PRESETS[name]["hidden"] and tcfg.steps == PRESETS[name]["steps"]
    args = build_parser().parse_args(["train", "--preset", "beyond", "--steps", "10"])
    assert resolve_configs(args, 27)[1].steps == 10
