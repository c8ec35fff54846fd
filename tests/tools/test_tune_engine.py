"""tools/tune_engine.py: settings are typed as the EngineConfig fields they override."""

import argparse
import importlib.util
from pathlib import Path

import pytest

from mm_tracker_model.engine import EngineConfig

SPEC = importlib.util.spec_from_file_location(
    "tune_engine", Path(__file__).resolve().parents[2] / "tools/tune_engine.py"
)
tune_engine = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(tune_engine)


def test_settings_take_each_fields_type():
    found = tune_engine.parse_setting("window_influence=0.6,tocu_every=5,online_alignment=false,precision=fp32")
    assert found == {"window_influence": 0.6, "tocu_every": 5, "online_alignment": False, "precision": "fp32"}
    assert type(found["tocu_every"]) is int and found["online_alignment"] is False
    assert EngineConfig(**found).online_alignment is False
    assert tune_engine.parse_setting("online_alignment=True") == {"online_alignment": True}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("online_alignment=maybe", "online_alignment expects bool"),
        ("tocu_every=2.5", "tocu_every expects int"),
        ("speed=3", "EngineConfig field"),
    ],
)
def test_bad_settings_are_named(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        tune_engine.parse_setting(text)
