"""Engine settings from text are typed as the EngineConfig fields they override."""

import argparse

import pytest

from mm_tracker_model.engine import EngineConfig
from mm_tracker_model.engine.overrides import node_parameter_args, parse_overrides


def test_settings_take_each_fields_type():
    found = parse_overrides("window_influence=0.6,tocu_every=5,online_alignment=false,precision=fp32")
    assert found == {"window_influence": 0.6, "tocu_every": 5, "online_alignment": False, "precision": "fp32"}
    assert type(found["tocu_every"]) is int and found["online_alignment"] is False
    assert EngineConfig(**found).online_alignment is False
    assert parse_overrides("online_alignment=True") == {"online_alignment": True}
    assert parse_overrides("") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("online_alignment=maybe", "online_alignment expects bool"),
        ("tocu_every=2.5", "tocu_every expects int"),
        ("speed=3", "EngineConfig field"),
        ("tocu_every=", "NAME=VALUE"),
    ],
)
def test_bad_settings_are_named(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_overrides(text)


def test_node_parameters_spell_booleans_as_ros_does():
    found = node_parameter_args(parse_overrides("alignment_every=3,online_alignment=False,int8=never"))
    assert found == ("alignment_every:=3", "online_alignment:=false", "int8:=never")
