"""ament_python build of the mm_tracker ROS 2 package; launch files come from the repository's launch/."""

import os
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "mm_tracker"
HERE = Path(__file__).resolve().parent
LAUNCH_DIR = HERE.parents[2] / "launch"

data_files = [
    ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
    (f"share/{PACKAGE}", ["package.xml"]),
]
# colcon wants data_files relative to the package folder.
launch_files = sorted(os.path.relpath(p, HERE) for p in LAUNCH_DIR.glob("*.launch.py"))
if launch_files:
    data_files.append((f"share/{PACKAGE}/launch", launch_files))
data_files.append((f"share/{PACKAGE}/rviz", ["rviz/mm_tracker.rviz"]))

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=data_files,
    install_requires=["setuptools"],
    extras_require={"test": ["pytest"]},
    entry_points={
        "console_scripts": [
            "mm_tracker_node = mm_tracker.node:main",
            "node_bench = mm_tracker.node_bench:main",
            "bag_player = mm_tracker.bag_player:main",
            "bag_recorder = mm_tracker.bag_recorder:main",
        ]
    },
    zip_safe=True,
    maintainer="mm_tracker developers",
    maintainer_email="dev@mm-tracker.invalid",
    description="ROS 2 node of the mm_tracker RGB+X single-object tracker.",
    license="Apache-2.0",
)
