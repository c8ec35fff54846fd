import pytest

from mm_tracker.parameters import SPEC_BY_NAME, SPECS, validate


def _defaults():
    return {spec.name: spec.default for spec in SPECS}


def test_defaults_are_valid():
    assert validate(_defaults()) == []


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("aux_modality", "radar", "parameter 'aux_modality' = 'radar': expected one of thermal, depth, event"),
        ("device", "gpu0", "parameter 'device' = 'gpu0': expected auto, cpu, cuda or cuda:N"),
        ("sync_slop", 5.0, "parameter 'sync_slop' = 5.0: expected a number in [0.001, 1.0]"),
        ("initial_box", [1.0, 2.0, 0.0, 4.0], "parameter 'initial_box'"),
        ("thermal_range", [300.0, 100.0], "parameter 'thermal_range'"),
        ("preset", "full_tny", "parameter 'preset' = 'full_tny'"),
    ],
)
def test_each_bad_value_is_named(name, value, message):
    problems = validate(_defaults() | {name: value})
    assert any(message in p for p in problems), problems


def test_half_precision_needs_cuda():
    assert validate(_defaults() | {"device": "cpu", "precision": "bf16"}) == [
        "parameter 'precision' = 'bf16': needs device cuda (device is cpu)"
    ]
    assert validate(_defaults() | {"device": "cuda:1", "precision": "bf16"}) == []


def test_every_parameter_has_a_description():
    assert all(spec.description for spec in SPECS) and len(SPEC_BY_NAME) == len(SPECS)


def test_the_engines_tuned_behaviour_is_a_node_parameter_with_the_engines_default():
    import dataclasses

    from mm_tracker_model.engine import EngineConfig
    from mm_tracker_model.engine.overrides import NOT_NODE_PARAMETERS

    for field in dataclasses.fields(EngineConfig):
        if field.name == "device":
            assert SPEC_BY_NAME["device"].default == "auto"  # the node resolves auto to CUDA or the CPU
        elif field.name in NOT_NODE_PARAMETERS:
            assert field.name not in SPEC_BY_NAME  # mm-tracker-eval --live refuses these by that list
        else:
            assert SPEC_BY_NAME[field.name].default == getattr(EngineConfig(), field.name), field.name
