"""package.xml must name what the package needs at run time, so that `rosdep install` brings it on a ROS machine.

The imports are read from the code (every import, also those inside functions), not from a hand-kept list: a
third-party import is covered by the mm_tracker_model library's own pip requirements or must be a depend.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from launch_view import LAUNCH, REPO, load

from mm_tracker_model.bags.write import BagOptions

PACKAGE = REPO / "ros2_ws" / "src" / "mm_tracker"
PACKAGE_XML = PACKAGE / "package.xml"
OWN = {"mm_tracker", "mm_tracker_model"}
PIP_TO_ROSDEP = {"pytest": "python3-pytest"}  # test tools that are pip packages here, rosdep keys there


def _depends(*tags: str) -> set[str]:
    root = ET.parse(PACKAGE_XML).getroot()
    return {e.text.strip() for tag in tags for e in root.iter(tag)}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _library_requirements() -> set[str]:
    requirements = importlib.metadata.requires("mm-tracker-model") or []
    return {_canonical(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0]) for r in requirements}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _uncovered(paths: list[Path], local: set[str] = frozenset()) -> dict[str, list[str]]:
    """Third-party imports of `paths` the library's pip requirements do not bring: import -> files."""
    requirements, distributions = _library_requirements(), importlib.metadata.packages_distributions()
    uncovered: dict[str, list[str]] = {}
    for path in paths:
        for name in _imports(path) - set(sys.stdlib_module_names) - OWN - local:
            if not any(_canonical(d) in requirements for d in distributions.get(name, [])):
                uncovered.setdefault(name, []).append(str(path.relative_to(REPO)))
    return uncovered


def test_every_ros_package_the_node_and_the_launch_files_import_is_an_exec_depend():
    code = sorted((PACKAGE / "mm_tracker").glob("*.py")) + sorted(LAUNCH.glob("*.launch.py"))
    needed = _uncovered(code)
    assert {"rclpy", "launch", "launch_ros", "vision_msgs"} <= needed.keys()  # the reading works
    missing = {name: files for name, files in needed.items() if name not in _depends("exec_depend", "depend")}
    assert not missing, f"package.xml lacks <exec_depend> for {missing}"


def test_every_package_the_tests_import_is_a_depend():
    tests = sorted((REPO / "tests" / "ros").rglob("*.py"))
    local = {p.stem for p in tests} | {p.name for p in (REPO / "tests").iterdir()}
    needed = {PIP_TO_ROSDEP.get(name, name): files for name, files in _uncovered(tests, local).items()}
    missing = {name: files for name, files in needed.items() if name not in _depends("exec_depend", "test_depend")}
    assert not missing, f"package.xml lacks <test_depend> for {missing}"


def test_the_programs_the_launch_files_start_are_exec_depends():
    depends = _depends("exec_depend", "depend")
    started = {"ros2launch"}  # `ros2 launch` runs the files themselves
    for name in ("tracker.launch.py", "replay.launch.py"):
        launch_file = load(name)
        started |= {n.kwargs["package"] for n in launch_file.of_kind("Node") + launch_file.of_kind("LifecycleNode")}
        started |= {
            "ros2" + p.kwargs["cmd"][1] for p in launch_file.of_kind("ExecuteProcess") if p.kwargs["cmd"][0] == "ros2"
        }
    if BagOptions().storage == "mcap":  # what mm-tracker-make-bag writes; Humble's rosbag2 plays it with the plugin
        started.add("rosbag2_storage_mcap")
    assert started - {"mm_tracker"} <= depends, (started - {"mm_tracker"}) - depends
    assert {"rviz2", "ros2bag"} <= started
