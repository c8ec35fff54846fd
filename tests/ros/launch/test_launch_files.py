"""The launch files, run against recording stand-ins for launch / launch_ros (not on PyPI; see launch_view), and
loaded with the real launch library where it is importable."""

from __future__ import annotations

import ast
from types import SimpleNamespace

import pytest
import yaml
from launch_view import LAUNCH, REPO, effective_defaults, launch_library_missing, load, text, walk

from mm_tracker.launch_support import LaunchFailure
from mm_tracker.parameters import SPEC_BY_NAME
from mm_tracker_model.bags.write import BagOptions
from mm_tracker_model.executables import ros_executable
from mm_tracker_model.topics import NODE

SHARE = REPO / "ros2_ws" / "install" / "mm_tracker" / "share" / "mm_tracker"
FILES = ["tracker.launch.py", "replay.launch.py"]


@pytest.mark.parametrize("name", FILES)
def test_launch_files_parse_and_define_generate_launch_description(name):
    tree = ast.parse((LAUNCH / name).read_text(), filename=name)
    assert "generate_launch_description" in {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


@pytest.mark.parametrize("name", FILES)
def test_every_declared_argument_has_a_description(name):
    arguments = load(name).arguments
    assert arguments
    undescribed = [n for n, a in arguments.items() if not a.kwargs.get("description", "").strip()]
    assert not undescribed, f"{name}: no description for {undescribed}"


def test_every_forwarded_parameter_is_declared_by_the_node_with_the_same_default():
    tracker = load("tracker.launch.py")
    parameters = tracker.node("mm_tracker_node").kwargs["parameters"][0]
    for name, default, _ in tracker.module.NODE_ARGUMENTS:
        assert name in SPEC_BY_NAME, f"launch sets {name!r}, which the node does not declare"
        assert text(parameters[name]) == ("config", name)
        node_default = SPEC_BY_NAME[name].default
        expected = str(node_default).lower() if isinstance(node_default, bool) else str(node_default)
        assert default == expected, f"{name}: launch default {default!r} differs from the node's {expected!r}"


@pytest.mark.parametrize("name", FILES)
def test_initial_box_and_publish_detections_reach_the_node_from_both_launch_files(name):
    parameters = load("tracker.launch.py").node("mm_tracker_node").kwargs["parameters"][0]
    defaults = effective_defaults(name)
    for parameter in ("initial_box", "publish_detections"):
        assert text(parameters[parameter]) == ("config", parameter)
        assert parameter in defaults, f"{name} does not reach the node parameter {parameter!r}"


def test_the_tracker_normalises_initial_box_before_the_node_starts():
    tracker = load("tracker.launch.py")
    kinds = [e.kind for e in tracker.entities]
    normalise = tracker.entities[kinds.index("OpaqueFunction")].kwargs["function"]
    assert kinds.index("OpaqueFunction") < kinds.index("LifecycleNode")
    (setting,) = normalise(SimpleNamespace(launch_configurations={"initial_box": "[300, 200, 60, 40]"}))
    assert setting.kind == "SetLaunchConfiguration"
    assert setting.args == ("initial_box", "[300.0, 200.0, 60.0, 40.0]")


def test_remapped_topics_are_the_node_input_topics():
    node = load("tracker.launch.py").node("mm_tracker_node")
    remappings = {source: text(target) for source, target in node.kwargs["remappings"]}
    assert remappings == {NODE.rgb: ("config", "rgb_topic"), NODE.aux: ("config", "aux_topic")}


def test_replay_defaults_are_the_topics_the_bag_writer_writes():
    defaults, written = effective_defaults("replay.launch.py"), BagOptions().topics
    assert (defaults["rgb_topic"], defaults["aux_topic"]) == (written.rgb, written.aux)
    assert defaults["use_sim_time"] == "true"


def test_replay_passes_only_arguments_the_tracker_launch_declares():
    declared = set(load("tracker.launch.py").arguments)
    ((included, passed),) = load("replay.launch.py").includes()
    assert included == "tracker.launch.py"
    assert set(passed) <= declared, set(passed) - declared


def test_replay_plays_only_once_the_node_is_active_and_each_player_failure_ends_the_launch():
    replay = load("replay.launch.py")
    (ros2_bag_play,) = replay.of_kind("ExecuteProcess")
    assert ros2_bag_play.kwargs["cmd"][:3] == ["ros2", "bag", "play"]
    bag_player = replay.node("bag_player")
    players = [ros2_bag_play, bag_player]
    (gate,) = replay.of_kind("OnStateTransition")
    assert gate.kwargs["goal_state"] == "active" and gate.kwargs.get("handle_once") is True
    assert {id(p) for p in gate.kwargs["entities"]} == {id(p) for p in players}
    top_level = {id(r) for e in replay.entities if e.kind != "RegisterEventHandler" for r in walk(e)}
    assert not top_level & {id(p) for p in players}, "a player starts with the launch, not on `active`"
    watched = {id(h.kwargs["target_action"]) for h in replay.of_kind("OnProcessExit")}
    assert watched == {id(p) for p in players}
    arguments = bag_player.kwargs["arguments"]
    assert text(arguments[arguments.index("--wait-for-subscribers") + 1]) == ("config", "rgb_topic")


def test_rviz_is_off_by_default_and_a_missing_rviz2_stops_the_launch_before_the_node():
    for name in FILES:
        assert effective_defaults(name)["launch_rviz"] == "false", name
    tracker = load("tracker.launch.py")
    rviz = tracker.node("rviz2")
    assert text(rviz.kwargs["condition"].args[0]) == ("config", "launch_rviz")
    kinds = [e.kind for e in tracker.entities]
    assert kinds.index("Node") < kinds.index("LifecycleNode")  # rviz2 before the tracker


@pytest.mark.parametrize(("returncode", "fails"), [(2, True), (-9, True), (0, False)])
def test_the_node_exiting_ends_the_launch_and_a_failure_makes_it_fail(returncode, fails):
    tracker = load("tracker.launch.py")
    (handler,) = tracker.of_kind("OnProcessExit")
    assert handler.kwargs["target_action"] is tracker.node("mm_tracker_node")
    on_exit = handler.kwargs["on_exit"]
    event = SimpleNamespace(returncode=returncode)
    if fails:
        # LaunchService turns an exception in an event handler into a shutdown and exit code 1.
        with pytest.raises(LaunchFailure, match=f"mm_tracker node exited with code {returncode}"):
            on_exit(event, SimpleNamespace(is_shutdown=False))
    else:
        shutdown = on_exit(event, SimpleNamespace(is_shutdown=False))
        assert shutdown.kind == "Shutdown" and shutdown.kwargs["reason"] == "mm_tracker node exited"
    assert on_exit(event, SimpleNamespace(is_shutdown=True)) is None  # exits the shutdown itself caused


def test_referenced_files_are_installed():
    for name in FILES:
        assert (SHARE / "launch" / name).is_file()
    rviz = SHARE / "rviz" / "mm_tracker.rviz"
    config = yaml.safe_load(rviz.read_text())
    topics = [d["Topic"]["Value"] for d in config["Visualization Manager"]["Displays"]]
    assert "/" + NODE.debug_image in topics
    assert ros_executable("mm_tracker_node").is_file() and ros_executable("bag_player").is_file()


def test_the_readme_documents_every_launch_argument():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## The ROS 2 node") :].split("\n## ", 1)[0]
    for name in FILES:
        undocumented = [a for a in effective_defaults(name) if f"`{a}`" not in section]
        assert not undocumented, f"README's ROS 2 node section does not name {name}'s {undocumented}"


@pytest.mark.skipif(launch_library_missing() is not None, reason=str(launch_library_missing()))
@pytest.mark.parametrize("name", FILES)
def test_the_launch_library_loads_each_file_with_described_arguments(name):
    from launch import LaunchContext
    from launch.launch_description_sources import PythonLaunchDescriptionSource
    from launch.utilities import perform_substitutions

    description = PythonLaunchDescriptionSource(str(LAUNCH / name)).get_launch_description(LaunchContext())
    arguments = {a.name: a for a in description.get_launch_arguments()}  # with those of included files
    assert {"initial_box", "launch_rviz", "rgb_topic"} <= arguments.keys()
    for argument in arguments.values():
        assert argument.description and argument.description != "no description given", argument.name
    if name == "replay.launch.py":
        rgb_default = perform_substitutions(LaunchContext(), arguments["rgb_topic"].default_value)
        assert rgb_default == BagOptions().topics.rgb
