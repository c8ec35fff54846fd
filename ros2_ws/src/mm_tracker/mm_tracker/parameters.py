"""The node's parameters: one table of names, defaults, descriptions and limits, and their validation.

The table is the single source of truth: the node declares from it, the launch files' arguments are checked
against it in the tests, and validation reports every bad value with its name and what is allowed.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from dataclasses import dataclass
from typing import Any

from mm_tracker_model.engine.stream import StreamConfig
from mm_tracker_model.engine.tracker import INT8_CHOICES, PRECISIONS, EngineConfig
from mm_tracker_model.geometry.boxes import is_valid_box
from mm_tracker_model.modalities import MODALITIES
from mm_tracker_model.presets import preset_names

# The engine's and the per-frame path's defaults are the node's: offline evaluation measures what the node runs.
ENGINE, STREAM = EngineConfig(), StreamConfig()
DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda|cuda:\d+)$")


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: Any
    description: str
    choices: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None


SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("autostart", True, "configure and activate at start-up (plain `ros2 run`)"),
    ParamSpec("aux_modality", "thermal", "what the second camera is", choices=MODALITIES),
    ParamSpec("rgb_only", False, "no second camera: do not subscribe aux/image; track on RGB alone"),
    ParamSpec("checkpoint", "", "mm_tracker checkpoint file; empty: the packaged default model"),
    ParamSpec("preset", "full_tiny", "network preset when no checkpoint is given", choices=tuple(preset_names())),
    ParamSpec("device", "auto", "auto (CUDA if available, else CPU), cpu, cuda or cuda:N"),
    ParamSpec("cpu_threads", 1, "torch CPU threads for inference; 0: torch's default (all cores)", low=0, high=256),
    ParamSpec("precision", "fp32", "inference precision (fp16/bf16 need CUDA)", choices=tuple(PRECISIONS)),
    ParamSpec("transport", "raw", "image transport of both inputs", choices=("raw", "compressed")),
    ParamSpec("sync_slop", 0.05, "largest RGB-X stamp difference paired, seconds", low=0.001, high=1.0),
    ParamSpec("sync_queue_size", 10, "messages kept per input while pairing", low=1, high=100),
    ParamSpec(
        "image_reliability",
        "best_effort",
        "QoS reliability of the image subscriptions",
        choices=("best_effort", "reliable"),
    ),
    ParamSpec("image_qos_depth", 1, "QoS history depth of the image subscriptions", low=1, high=100),
    ParamSpec("use_camera_info", False, "subscribe rgb/camera_info and aux/camera_info and check their sizes"),
    ParamSpec("calibration_file", "", "rig calibration YAML (initial X->RGB homography); empty: identity"),
    ParamSpec("initial_box", [0.0], "x, y, width, height in RGB pixels to track from the first frame; [0] for none"),
    ParamSpec("thermal_range", [0.0], "fixed raw-count range [low, high] for 16-bit thermal; [0] for percentiles"),
    ParamSpec(
        "aux_max_age",
        STREAM.aux_max_age_s,
        "X frames older than this (vs the RGB stamp) run RGB-only, seconds",
        low=0.0,
        high=10.0,
    ),
    ParamSpec(
        "tocu_alpha", ENGINE.tocu_alpha, "score above which the homography update (TOCU) may run", low=0.0, high=1.0
    ),
    ParamSpec(
        "tocu_beta", ENGINE.tocu_beta, "IoU an updated template must reach with the first frame", low=0.0, high=1.0
    ),
    ParamSpec("tocu_every", ENGINE.tocu_every, "run TOCU at most every N frames", low=1, high=10000),
    ParamSpec(
        "alignment_every",
        ENGINE.alignment_every,
        "estimate the misalignment on every N-th frame, reusing it between (1: every frame)",
        low=1,
        high=100,
    ),
    ParamSpec("lost_score", ENGINE.lost_score, "score under which a frame counts towards LOST", low=0.0, high=1.0),
    ParamSpec(
        "lost_patience", ENGINE.lost_patience, "frames under lost_score before the state is LOST", low=1, high=10000
    ),
    ParamSpec(
        "max_corner_shift",
        ENGINE.max_corner_shift,
        "guard: homography corner drift from calibration, fraction of X diagonal",
        low=0.01,
        high=2.0,
    ),
    ParamSpec(
        "max_scale_change",
        ENGINE.max_scale_change,
        "largest box size change per frame, as a factor; 0: unbounded",
        low=0.0,
        high=10.0,
    ),
    ParamSpec("size_lr", ENGINE.size_lr, "box size moves towards the estimate by size_lr x score", low=0.01, high=1.0),
    ParamSpec(
        "window_influence",
        ENGINE.window_influence,
        "weight of the Hann window on the score map (1: OSTrack's full window)",
        low=0.0,
        high=1.0,
    ),
    ParamSpec(
        "lost_search_scale",
        ENGINE.lost_search_scale,
        "search growth per LOST frame (at most squared)",
        low=1.0,
        high=3.0,
    ),
    ParamSpec("fused", ENGINE.fused, "track with the fused inference copy of the network and cached template tokens"),
    ParamSpec(
        "int8",
        ENGINE.int8,
        "int8 ViT linear layers: auto (on the CPU in fp32), always, never (float)",
        choices=INT8_CHOICES,
    ),
    ParamSpec(
        "online_alignment", ENGINE.online_alignment, "estimate the misalignment online (false: keep the calibration)"
    ),
    ParamSpec("tocu_homography", ENGINE.tocu_homography, "an accepted TOCU also replaces the rig homography"),
    ParamSpec(
        "global_rate",
        ENGINE.global_rate,
        "share of the way the rig homography moves to each accepted estimate (0: only TOCU moves it)",
        low=0.0,
        high=1.0,
    ),
    ParamSpec(
        "global_min_score",
        ENGINE.global_min_score,
        "score an estimate needs to move the rig homography",
        low=0.0,
        high=1.0,
    ),
    ParamSpec(
        "publish_rate",
        ENGINE.publish_rate,
        "low-pass of the published homography: share of the way to each frame's estimate (1: no smoothing)",
        low=0.01,
        high=1.0,
    ),
    ParamSpec(
        "estimate_gain",
        ENGINE.estimate_gain,
        "scale of each frame's homography correction in corner positions (1: as the network estimates it)",
        low=0.5,
        high=3.0,
    ),
    ParamSpec(
        "linear_weight",
        ENGINE.linear_weight,
        "share of each frame's homography correction beyond the search centre's shift that is published (0: shift)",
        low=0.0,
        high=1.0,
    ),
    ParamSpec("publish_debug_image", True, "publish debug_image for rviz2"),
    ParamSpec("publish_detections", False, "also publish detections (vision_msgs/Detection2DArray; needs vision_msgs)"),
    ParamSpec("debug_image_scale", 0.5, "debug image size relative to the RGB image", low=0.1, high=1.0),
    ParamSpec("diagnostics_period", 1.0, "seconds between /diagnostics messages", low=0.1, high=60.0),
)

SPEC_BY_NAME = {spec.name: spec for spec in SPECS}
# Parameters that are EngineConfig fields of the same name (the engine's behaviour per frame).
ENGINE_PARAMETERS = tuple(f.name for f in dataclasses.fields(EngineConfig) if f.name in SPEC_BY_NAME)


def validate(values: dict[str, Any]) -> list[str]:
    """Every problem with the given values, each naming the parameter, its value and what is allowed."""
    problems = []
    for spec in SPECS:
        value = values.get(spec.name, spec.default)
        if spec.choices is not None and value not in spec.choices:
            problems.append(f"parameter '{spec.name}' = {value!r}: expected one of {', '.join(spec.choices)}")
        if spec.low is not None and not (isinstance(value, (int, float)) and spec.low <= value <= spec.high):
            problems.append(f"parameter '{spec.name}' = {value!r}: expected a number in [{spec.low}, {spec.high}]")
    device = values.get("device", "auto")
    if not DEVICE_PATTERN.match(str(device)):
        problems.append(f"parameter 'device' = {device!r}: expected auto, cpu, cuda or cuda:N")
    if values.get("precision", "fp32") != "fp32" and str(device) == "cpu":
        problems.append(f"parameter 'precision' = {values['precision']!r}: needs device cuda (device is cpu)")
    box = list(values.get("initial_box", [0.0]))
    if box != [0.0] and not is_valid_box(box):
        problems.append(
            f"parameter 'initial_box' = {box}: expected [x, y, width, height] with width, height > 0, or [0]"
        )
    if values.get("publish_detections", False) and importlib.util.find_spec("vision_msgs") is None:
        # vision_msgs has no pip wheel: only a system ROS 2 install (or a workspace built with it) has it.
        problems.append(
            "parameter 'publish_detections' = True: needs the ROS package vision_msgs, which is not importable "
            "(install ros-$ROS_DISTRO-vision-msgs), or set publish_detections:=false"
        )
    thermal_range = list(values.get("thermal_range", [0.0]))
    if thermal_range != [0.0] and (len(thermal_range) != 2 or thermal_range[0] >= thermal_range[1]):
        problems.append(f"parameter 'thermal_range' = {thermal_range}: expected [low, high] with low < high, or [0]")
    return problems
