"""launch / launch_ros are not installable here, so the launch files are checked statically."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from mm_tracker.parameters import SPEC_BY_NAME

REPO = Path(__file__).resolve().parents[3]
LAUNCH = REPO / "launch"
SHARE = REPO / "ros2_ws" / "install" / "mm_tracker" / "share" / "mm_tracker"
NODE_SOURCE = (REPO / "ros2_ws/src/mm_tracker/mm_tracker/node.py").read_text()


def _tree(name: str) -> ast.Module:
    return ast.parse((LAUNCH / name).read_text(), filename=name)


def _node_arguments() -> list[tuple[str, str, str]]:
    for node in ast.walk(_tree("tracker.launch.py")):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "NODE_ARGUMENTS":
            return ast.literal_eval(node.value)
    raise AssertionError("NODE_ARGUMENTS not found")


def _declared_arguments(name: str) -> set[str]:
    declared = set()
    for node in ast.walk(_tree(name)):
        is_declaration = isinstance(node, ast.Call) and getattr(node.func, "id", None) == "DeclareLaunchArgument"
        if is_declaration and node.args and isinstance(node.args[0], ast.Constant):
            declared.add(node.args[0].value)
    return declared | {n for n, _, _ in _node_arguments()} if name == "tracker.launch.py" else declared


@pytest.mark.parametrize("name", ["tracker.launch.py", "replay.launch.py"])
def test_launch_files_parse_and_define_generate_launch_description(name):
    functions = {n.name for n in ast.walk(_tree(name)) if isinstance(n, ast.FunctionDef)}
    assert "generate_launch_description" in functions


def test_every_forwarded_parameter_is_declared_by_the_node_with_the_same_default():
    for name, default, _ in _node_arguments():
        assert name in SPEC_BY_NAME, f"launch sets {name!r}, which the node does not declare"
        node_default = SPEC_BY_NAME[name].default
        expected = str(node_default).lower() if isinstance(node_default, bool) else str(node_default)
        assert default == expected, f"{name}: launch default {default!r} differs from the node's {expected!r}"


def test_remapped_topics_are_the_ones_the_node_subscribes_to():
    tree_text = (LAUNCH / "tracker.launch.py").read_text()
    for topic in ("rgb/image", "aux/image"):
        assert f'("{topic}"' in tree_text and f'"{topic}"' in NODE_SOURCE


def test_replay_passes_only_arguments_the_tracker_launch_declares():
    declared = _declared_arguments("tracker.launch.py")
    for node in ast.walk(_tree("replay.launch.py")):
        if isinstance(node, ast.keyword) and node.arg == "launch_arguments":
            keys = {k.value for k in node.value.func.value.keys}
            assert keys <= declared, keys - declared
            return
    raise AssertionError("replay.launch.py includes no launch arguments")


def test_referenced_files_are_installed():
    assert (SHARE / "launch" / "tracker.launch.py").is_file()
    assert (SHARE / "launch" / "replay.launch.py").is_file()
    rviz = SHARE / "rviz" / "mm_tracker.rviz"
    assert rviz.is_file()
    config = yaml.safe_load(rviz.read_text())
    topics = [d["Topic"]["Value"] for d in config["Visualization Manager"]["Displays"]]
    assert "/debug_image" in topics
    assert (REPO / "ros2_ws/install/mm_tracker/lib/mm_tracker/mm_tracker_node").is_file()
