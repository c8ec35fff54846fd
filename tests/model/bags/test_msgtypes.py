import subprocess
import sys

import pytest

from mm_tracker_model.bags.msgtypes import LARGE_DEPTH, SMALL_DEPTH, history_depth, import_msg_class, msgtype_to_import


def test_msgtype_maps_to_module_and_class():
    assert msgtype_to_import("sensor_msgs/msg/Image") == ("sensor_msgs.msg", "Image")
    assert msgtype_to_import("mm_tracker_msgs/msg/Box2D") == ("mm_tracker_msgs.msg", "Box2D")
    assert msgtype_to_import("std_srvs/srv/Trigger") == ("std_srvs.srv", "Trigger")
    for bad in ("sensor_msgs/Image", "Image", "a/msg/B/C", "sensor_msgs/msg/", "../x/msg/Y", "os/path/join"):
        with pytest.raises(ValueError):
            msgtype_to_import(bad)


def test_import_msg_class_imports_the_generated_module(tmp_path, monkeypatch):
    package = tmp_path / "fake_msgs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "msg.py").write_text("class Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_msg_class("fake_msgs/msg/Thing").__module__ == "fake_msgs.msg"
    with pytest.raises(AttributeError):
        import_msg_class("fake_msgs/msg/Other")
    with pytest.raises(ImportError):
        import_msg_class("no_such_pkg_xyz/msg/Thing")


def test_large_types_get_a_shallow_history():
    assert history_depth("sensor_msgs/msg/Image") == LARGE_DEPTH < SMALL_DEPTH
    assert history_depth("mm_tracker_msgs/msg/TrackedTarget") == LARGE_DEPTH
    assert history_depth("std_msgs/msg/String") == SMALL_DEPTH


def test_the_bags_package_imports_no_ros():
    modules = "mm_tracker_model.bags." + ", mm_tracker_model.bags.".join(("msgtypes", "paths", "read", "mcap_recovery"))
    check = f"import sys, {modules}; assert not [m for m in sys.modules if m.startswith('rclpy')]"
    subprocess.run([sys.executable, "-c", check], check=True)
