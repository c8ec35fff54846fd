import zipfile

import pytest
import torch
from support.foreign_pickles import ostrack_release
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


def test_an_ostrack_release_with_pickled_settings_converts_and_reports_what_was_skipped(tmp_path, capsys):
    path, _ = ostrack_release(tmp_path, TINY)
    out = tmp_path / "converted.pt"
    assert convert.main(["--from", "ostrack", str(path), "--preset", "patrack_tiny", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "skipped    settings: stand-in for lib.train.admin.settings.Settings" in printed
    assert "skipped    constructor: stand-in for lib.utils.constructor.Constructor" in printed
    checkpoint = load_checkpoint(out)
    assert checkpoint.config.fusion == "mean"
    assert checkpoint.metadata["skipped"]["settings"] == "lib.train.admin.settings.Settings"


def test_the_paper_fusion_is_an_option(tmp_path, tiny_ostrack_file):
    out = tmp_path / "paper.pt"
    args = [
        "--from",
        "ostrack",
        str(tiny_ostrack_file),
        "--preset",
        "patrack_tiny",
        "--fusion",
        "sum",
        "--out",
        str(out),
    ]
    assert convert.main(args) == 0
    assert load_checkpoint(out).config.fusion == "sum"


def test_a_vit_large_file_into_the_base_preset_exits_2_naming_file_and_key(tmp_path, capsys):
    large = tmp_path / "OSTrack_vitl.pth.tar"
    torch.save({"net": ostrack_state_dict(dim=1024, depth=1, head_channels=(8, 8, 8, 8))}, large)
    out = tmp_path / "base.pt"
    assert convert.main(["--from", "ostrack", str(large), "--preset", "patrack_base", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "OSTrack_vitl.pth.tar" in err and "shape mismatch for 'backbone." in err and "1024" in err
    assert not out.exists() and list(tmp_path.iterdir()) == [large]  # no temporary file left either


def test_a_zip_without_a_pickle_exits_2(tmp_path, capsys):
    archive = tmp_path / "weights.pth"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("weights/version", "3\n")
    assert convert.main(["--from", "ostrack", str(archive), "--preset", "patrack_tiny", "--out", "x.pt"]) == 2
    assert "weights.pth" in capsys.readouterr().err


def test_nanotrack_conversion_takes_the_stem_from_the_file(tmp_path, capsys):
    from mm_tracker_model.nn.mobilenet_stem import MobileNetStem

    features = MobileNetStem("nanotrack_v3", 8).features.state_dict()
    source = tmp_path / "nanotrackv3.pth"
    torch.save({"epoch": 1, "state_dict": {f"backbone.features.{k}": v for k, v in features.items()}}, source)
    out = tmp_path / "stem.pt"
    assert convert.main(["--from", "nanotrack", str(source), "--preset", "full_tiny", "--out", str(out)]) == 0
    assert "missing    0" in capsys.readouterr().out
    assert load_net(out).config.stem == "nanotrack_v3"
