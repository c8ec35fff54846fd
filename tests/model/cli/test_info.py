import json

import pytest

from mm_tracker_model.cli import info


def test_json_has_the_documented_shape_and_plain_counts(capsys):
    assert info.main(["--preset", "patrack_tiny", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["preset"] == "patrack_tiny"
    assert {"total", "used", "trainable", "groups"} <= set(report["params"])
    assert {"total", "modules"} <= set(report["macs"])
    assert report["tokens"]["search"] == 256
    assert isinstance(report["params"]["used"], int) and report["params"]["used"] > 1_000_000
    assert report["params"]["trainable"] < report["params"]["total"]


def test_full_training_mode_makes_everything_trainable(capsys):
    assert info.main(["--preset", "patrack_tiny", "--json", "--training-mode", "full"]) == 0
    params = json.loads(capsys.readouterr().out)["params"]
    assert params["trainable"] == params["total"]


def test_table_lists_parameters_and_macs(capsys):
    assert info.main(["--preset", "patrack_tiny"]) == 0
    out = capsys.readouterr().out
    assert "modules (Linear + conv)" in out and "group adapters" in out


def test_unknown_preset_is_one_error_line_and_exit_2(capsys):
    assert info.main(["--preset", "patrack_tny"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: preset 'patrack_tny' unknown; known: full_base, full_tiny, patrack_base, patrack_tiny"


def test_missing_preset_argument_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        info.main([])
    assert exc.value.code == 2


def test_full_presets_report_alignment_macs_per_stage_and_expert(capsys):
    assert info.main(["--preset", "full_tiny", "--json"]) == 0
    macs = json.loads(capsys.readouterr().out)["macs"]
    assert len(macs["alignment_stages"]) == 3
    assert all(set(stage) == {"tre", "fme", "dpe"} for stage in macs["alignment_stages"])
    assert macs["alignment_hard_route_max"] < macs["alignment_all_experts"]
    assert macs["alignment_all_experts"] == sum(sum(stage.values()) for stage in macs["alignment_stages"])
