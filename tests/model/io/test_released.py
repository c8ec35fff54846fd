"""Released checkpoints are read without running their pickles (files made here the way their trainers save them)."""

import pickle
import sys
import zipfile

import pytest
import torch
from support.foreign_pickles import foreign_class, forget_modules, ostrack_release

from mm_tracker_model.errors import CheckpointError
from mm_tracker_model.io.released import StandIn, read_released_file
from mm_tracker_model.presets import get_preset

TINY = get_preset("patrack_tiny")


@pytest.fixture(name="ostrack_release")
def _ostrack_release(tmp_path):
    return ostrack_release(tmp_path, TINY)


def test_ostrack_release_yields_its_tensors_and_reports_stand_ins(ostrack_release):
    path, net = ostrack_release
    with pytest.raises(pickle.UnpicklingError):  # what users hit before: weights_only refuses the file
        torch.load(path, weights_only=True)
    released = read_released_file(path)
    assert released.skipped == {
        "settings": "lib.train.admin.settings.Settings",
        "constructor": "lib.utils.constructor.Constructor",
    }
    assert "lib" not in sys.modules  # never imported
    assert released.content["epoch"] == 300
    assert set(released.content["net"]) == set(net)
    for key, tensor in net.items():
        assert torch.equal(released.content["net"][key], tensor), key
    settings = released.content["settings"]
    assert isinstance(settings, StandIn) and settings.state == {"script_name": "ostrack"}


def test_legacy_serialisation_is_read_the_same_way(tmp_path):
    cls = foreign_class("lib.train.admin.stats", "AverageMeter")
    path = tmp_path / "legacy.pth"
    torch.save({"net": {"w": torch.arange(4.0)}, "stats": cls()}, path, _use_new_zipfile_serialization=False)
    forget_modules("lib.train.admin.stats")
    released = read_released_file(path)
    assert torch.equal(released.content["net"]["w"], torch.arange(4.0))
    assert released.skipped == {"stats": "lib.train.admin.stats.AverageMeter"}


class _RunsACommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_a_pickle_that_would_run_a_command_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"net": {"w": torch.ones(2)}, "payload": _RunsACommand(marker)}, path)
    released = read_released_file(path)
    assert not marker.exists()
    assert released.skipped["payload"] in ("posix.system", "nt.system")
    assert torch.equal(released.content["net"]["w"], torch.ones(2))


def test_a_whole_pickled_object_is_refused(tmp_path):
    cls = foreign_class("somewhere.models", "Net")
    path = tmp_path / "model.pth"
    torch.save(cls(), path)
    forget_modules("somewhere.models")
    with pytest.raises(CheckpointError, match=r"single somewhere\.models\.Net object"):
        read_released_file(path)


@pytest.mark.parametrize("kind", ["text", "zip_without_pickle", "truncated", "missing"])
def test_unreadable_files_are_refused_with_their_name(tmp_path, kind):
    path = tmp_path / f"{kind}.pth"
    if kind == "text":
        path.write_text("hello")
    elif kind == "zip_without_pickle":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/version", "3\n")
    elif kind == "truncated":
        torch.save({"net": {"w": torch.ones(1000)}}, path)
        path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(CheckpointError, match=f"{kind}.pth"):
        read_released_file(path)
