"""Where a rosbag2 bag's files are: what plainly is not a bag, and the MCAP files of a split bag in order."""

from __future__ import annotations

import re
from pathlib import Path

from mm_tracker_model.errors import BagError


def check_bag_path(path: Path) -> None:
    """BagError when `path` is missing or plainly not a rosbag2 bag; whether it reads is for opening it to tell."""
    path = Path(path)
    if not path.exists():
        raise BagError(f"no such bag: {path}")
    if path.suffix == ".bag":
        raise BagError(f"{path} is a ROS 1 bag; only rosbag2 (.mcap / .db3) holds CDR messages")
    if path.is_dir():
        if not any(path.glob("*.mcap")) and not any(path.glob("*.db3")) and not (path / "metadata.yaml").is_file():
            raise BagError(f"{path} is not a rosbag2 bag (no metadata.yaml, .mcap or .db3 files)")
    elif path.suffix not in (".mcap", ".db3"):
        raise BagError(f"{path} is not a rosbag2 bag (expected a bag directory, or a .mcap or .db3 file)")


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def mcap_files(path: Path) -> list[Path]:
    """The MCAP files of a bag directory in split order (bag_2 before bag_10), or the MCAP file given."""
    path = Path(path)
    if path.is_dir():
        return sorted(path.glob("*.mcap"), key=_natural_key)
    return [path] if path.suffix == ".mcap" and path.is_file() else []
