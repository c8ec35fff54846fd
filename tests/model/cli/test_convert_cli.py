import pytest
import torch
from support.ostrack_reference import ostrack_state_dict

from mm_tracker_model.cli import convert
from mm_tracker_model.io.checkpoint import load_checkpoint, load_net
from mm_tracker_model.presets import get_preset

TINY = get_preset("patrack_tiny")


@pytest.fixture
def tiny_ostrack_file(tmp_path):
    path = tmp_path / "OSTrack_tiny.pth.tar"
    torch.save({"net": ostrack_state_dict(TINY.embed_dim, TINY.depth, TINY.head_channels), "epoch": 300}, path)
    return path


def test_converts_an_ostrack_file_into_a_loadable_checkpoint(tmp_path, tiny_ostrack_file, capsys):
    out = tmp_path / "converted.pt"
    assert (
        convert.main(["--from", "ostrack", str(tiny_ostrack_file), "--preset", "patrack_tiny", "--out", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert "consumed   " in printed and "unexpected 0" in printed and "missing    0" in printed
    assert "ignored    backbone.cls_token" in printed
    checkpoint = load_checkpoint(out)
    assert checkpoint.metadata["converted_from"] == "ostrack"
    assert load_net(out).config == TINY


def test_missing_input_file_exits_2_with_its_name(tmp_path, capsys):
    missing = tmp_path / "nope.pth.tar"
    assert convert.main(["--from", "ostrack", str(missing), "--preset", "patrack_tiny", "--out", "x.pt"]) == 2
    assert "nope.pth.tar" in capsys.readouterr().err


def test_not_a_checkpoint_exits_2(tmp_path, capsys):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello")
    assert convert.main(["--from", "ostrack", str(bogus), "--preset", "patrack_tiny", "--out", "x.pt"]) == 2
    assert "not a readable PyTorch checkpoint" in capsys.readouterr().err


def test_shape_mismatch_exits_2_naming_the_key(tmp_path, tiny_ostrack_file, capsys):
    out = tmp_path / "converted.pt"
    assert (
        convert.main(["--from", "ostrack", str(tiny_ostrack_file), "--preset", "patrack_base", "--out", str(out)]) == 2
    )
    assert "shape mismatch for 'backbone." in capsys.readouterr().err
    assert not out.exists()


def test_missing_head_needs_allow_missing(tmp_path, capsys):
    state = ostrack_state_dict(TINY.embed_dim, TINY.depth, TINY.head_channels)
    model = {k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")}
    source = tmp_path / "mae.pth"
    torch.save({"model": model}, source)
    out = tmp_path / "mae_tiny.pt"
    args = ["--from", "mae", str(source), "--preset", "patrack_tiny", "--out", str(out)]
    assert convert.main(args) == 2
    assert "box_head." in capsys.readouterr().err and not out.exists()
    assert convert.main([*args, "--allow-missing"]) == 0
    assert load_checkpoint(out).metadata["missing"]
