"""EngineConfig fields from text ('name=value,...'), typed as the fields are: the command-line form of the
node's engine parameters (`mm-tracker-eval --engine`, `tools/tune_engine.py --setting`)."""

from __future__ import annotations

import argparse
import dataclasses

from mm_tracker_model.engine.tracker import EngineConfig

BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
# EngineConfig fields the node does not take as parameters (tests/ros/mm_tracker/test_parameters.py checks).
NOT_NODE_PARAMETERS = frozenset({"clip_margin"})
Override = float | int | bool | str


def parse_overrides(text: str) -> dict[str, Override]:
    """'name=value,...' -> EngineConfig overrides; an unknown name or a value of the wrong type is an
    `argparse.ArgumentTypeError` naming it (the annotations are strings under postponed evaluation)."""
    types = {f.name: str(f.type) for f in dataclasses.fields(EngineConfig)}
    overrides: dict[str, Override] = {}
    for part in filter(None, text.split(",")):
        name, _, value = part.partition("=")
        if name not in types or not value:
            raise argparse.ArgumentTypeError(f"{part!r}: expected NAME=VALUE with NAME an EngineConfig field")
        kind = types[name]
        try:
            if kind == "bool":
                overrides[name] = BOOLEANS[value.lower()]
            else:
                overrides[name] = {"int": int, "float": float}.get(kind, str)(value)
        except (KeyError, ValueError):
            raise argparse.ArgumentTypeError(f"{part!r}: {name} expects {kind}") from None
    return overrides


def node_parameter_args(overrides: dict[str, Override]) -> tuple[str, ...]:
    """The same overrides as ROS 2 `-p NAME:=VALUE` values (booleans as true/false)."""
    return tuple(f"{k}:={str(v).lower() if isinstance(v, bool) else v}" for k, v in overrides.items())
