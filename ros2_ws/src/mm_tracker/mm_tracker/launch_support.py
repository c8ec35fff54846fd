"""What the launch files compute at launch time, kept importable (and tested) without the launch library.

`launch` / `launch_ros` are imported only inside `end_launch_on_exit`, which the launch files call.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from mm_tracker_model.bags.paths import check_bag_path, mcap_files
from mm_tracker_model.bags.read import iter_messages
from mm_tracker_model.bags.topics import BagTopics
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.eval.ground_truth import target_box

NO_BOX = "[0.0]"  # the node's initial_box default: no target until init_target


class LaunchFailure(RuntimeError):
    """Raised in an event handler: `ros2 launch` then shuts everything down and exits 1."""


def box_argument(text: str) -> str:
    """An initial_box launch argument as the node's double array: "[300, 200, 60, 40]" -> "[300.0, 200.0, 60.0, 40.0]".

    launch_ros reads "[300, 200, 60, 40]" as an integer array, which the node's double-array parameter rejects.
    """
    try:
        values = yaml.safe_load(text) if text.strip() else [0.0]
    except yaml.YAMLError as exc:
        raise ValueError(f"initial_box {text!r} is not a list ({exc})") from None
    if not isinstance(values, list):
        values = [values]
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"initial_box {text!r}: expected [x, y, width, height] in RGB pixels, or [0] for none")
    floats = [float(v) for v in values]
    if floats == [0.0]:
        return NO_BOX
    if len(floats) != 4 or not all(math.isfinite(v) for v in floats):
        raise ValueError(f"initial_box {text!r}: expected 4 finite numbers [x, y, width, height], or [0] for none")
    return "[" + ", ".join(repr(v) for v in floats) + "]"


def bag_storage(bag: Path) -> str:
    """The rosbag2 storage plugin of a bag, for `ros2 bag play --storage` (Humble's does not detect MCAP)."""
    check_bag_path(bag)
    return "mcap" if mcap_files(bag) else "sqlite3"


def first_ground_truth_box(bag: Path, topic: str = BagTopics().gt_target) -> str:
    """The first valid box on the bag's ground-truth topic, as an initial_box argument."""
    with iter_messages(Path(bag), [topic]) as messages:
        for _, _, msg in messages:
            box = target_box(msg)
            if box is not None:
                return box_argument(str([float(v) for v in box]))
    damage = f" (unreadable from {messages.damage})" if messages.damage else ""
    raise MMTrackerError(f"bag {str(bag)!r}: no valid ground-truth box on {topic}{damage}")


def exit_reason(what: str, returncode: int | None, *, shutting_down: bool, end_on_success: bool) -> str | None:
    """The shutdown reason once `what` exited, None to keep the launch running; raises LaunchFailure on a failure."""
    if shutting_down:  # exits caused by the shutdown itself say nothing new
        return None
    if returncode != 0:
        raise LaunchFailure(f"{what} exited with code {returncode}: see its log above")
    return f"{what} exited" if end_on_success else None


def end_launch_on_exit(action: Any, what: str, *, end_on_success: bool) -> Any:
    """An OnProcessExit handler for `action`: a failure ends the launch with exit code 1, a clean exit (when
    `end_on_success`) with a plain shutdown."""
    from launch.actions import RegisterEventHandler, Shutdown
    from launch.event_handlers import OnProcessExit

    def on_exit(event: Any, context: Any) -> Any:
        reason = exit_reason(what, event.returncode, shutting_down=context.is_shutdown, end_on_success=end_on_success)
        return Shutdown(reason=reason) if reason is not None else None

    return RegisterEventHandler(OnProcessExit(target_action=action, on_exit=on_exit))
