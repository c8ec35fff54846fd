"""Live evaluation: the real node process, the bag replayed over DDS at recorded speed with /clock, and the
node's outputs recorded into a result bag, then read back into a SequenceRun.

The library imports no rclpy: the node, the bag player and the recorder are the ROS package's executables,
found through AMENT_PREFIX_PATH (set by `source tools/env.sh` or a sourced ROS workspace).
"""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mm_tracker_model.bags.read import iter_messages, open_bag, stamp_ns
from mm_tracker_model.bags.topics import BagTopics, ResultTopics
from mm_tracker_model.calibration import CameraCalibration, RigCalibration, save_calibration
from mm_tracker_model.engine.tracker import TrackState
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.eval.ground_truth import box_array, target_box, true_homography
from mm_tracker_model.eval.runs import FrameOutput, SequenceRun
from mm_tracker_model.executables import ros_executable

START_PAUSE_S = 2.0  # lets the recorder discover the node's output topics before the first frame
STOP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class LiveConfig:
    device: str = "cpu"
    checkpoint: Path | None = None
    rate: float = 1.0
    settle_s: float = 3.0  # after the last frame, for the node to finish its queue
    startup_timeout_s: float = 120.0
    rgb_only: bool = False  # the node ignores X (no aux/image subscription), so nobody listens to it
    extra_node_params: tuple[str, ...] = ()


def _first_truth(bag: Path, topics: BagTopics) -> tuple[np.ndarray, np.ndarray | None, tuple, tuple]:
    """The first valid ground-truth box and the first true homography, and the RGB and X image sizes (width, height)."""
    box = homography = rgb_size = x_size = None
    wanted = [topics.gt_target, topics.gt_alignment, topics.rgb, topics.aux]
    with iter_messages(bag, wanted) as messages:
        for topic, _, msg in messages:
            if topic == topics.gt_target and box is None:
                box = target_box(msg)
            elif topic == topics.gt_alignment and homography is None:
                homography = true_homography(msg)
            elif topic == topics.rgb and rgb_size is None:
                rgb_size = (int(msg.width), int(msg.height))
            elif topic == topics.aux and x_size is None:
                x_size = (int(msg.width), int(msg.height))
            if box is not None and rgb_size is not None and x_size is not None:
                return box, homography, rgb_size, x_size
    damage = f" (unreadable from {messages.damage})" if messages.damage else ""
    raise MMTrackerError(f"bag {str(bag)!r}: no ground-truth box or no images to start the live run from{damage}")


def _launch(command: list[str], log: Path) -> subprocess.Popen:
    # Output goes straight to a file: a pipe read only at the end would fill up and block a chatty process.
    with open(log, "w") as handle:
        return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen, timeout: float = STOP_TIMEOUT_S) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.is_file() else ""


def run_live(bag: Path, work: Path, run: SequenceRun, config: LiveConfig, topics: BagTopics | None = None) -> Path:
    """Replay `bag` through the node; returns the result bag (outputs are read with `read_results`)."""
    topics = topics or BagTopics()
    open_bag(bag, [topics.rgb, topics.aux])
    work.mkdir(parents=True, exist_ok=True)
    box, homography, rgb_size, x_size = _first_truth(bag, topics)
    rig = work / f"{run.name}_rig.yaml"
    save_calibration(
        rig,
        RigCalibration(
            rig=f"evaluation of {run.name}",
            modality=run.modality,
            rgb=CameraCalibration("rgb_camera", *rgb_size),
            aux=CameraCalibration("aux_camera", *x_size),
            homography_aux_to_rgb=homography if homography is not None else np.eye(3),
        ),
    )
    result_bag = work / f"{run.name}_outputs"
    if result_bag.exists():
        raise MMTrackerError(f"{str(result_bag)!r} exists: give a new --out folder")
    results = ResultTopics()
    sim = ["--ros-args", "-p", "use_sim_time:=true"]
    node_params = [
        f"aux_modality:={run.modality}",
        f"device:={config.device}",
        f"calibration_file:={rig}",
        "initial_box:=[" + ", ".join(repr(float(v)) for v in box) + "]",  # exact: offline starts from the same box
        "diagnostics_period:=1.0",
        f"rgb_only:={str(config.rgb_only).lower()}",
        *config.extra_node_params,
    ]
    if config.checkpoint is not None:
        node_params.append(f"checkpoint:={config.checkpoint}")
    logs = {name: work / f"{run.name}_{name}.log" for name in ("node", "recorder", "player")}
    node_exe, recorder_exe, player_exe = (ros_executable(n) for n in ("mm_tracker_node", "bag_recorder", "bag_player"))
    node_cmd = [str(node_exe), *sim, *[a for p in node_params for a in ("-p", p)]]
    recorder_cmd = [str(recorder_exe), "--out", str(result_bag), "--topics", *vars(results).values(), *sim]
    processes: list[subprocess.Popen] = []
    try:
        processes.append(node := _launch(node_cmd, logs["node"]))
        processes.append(recorder := _launch(recorder_cmd, logs["recorder"]))
        player_cmd = [
            str(player_exe),
            str(bag),
            "--rate",
            str(config.rate),
            "--topics",
            topics.rgb,
            topics.aux,
            topics.rgb_info,
            topics.aux_info,
            "--wait-for-subscribers",
            *((topics.rgb,) if config.rgb_only else (topics.rgb, topics.aux)),
            "--wait-timeout",
            str(config.startup_timeout_s),
            "--start-paused-s",
            str(START_PAUSE_S),
        ]
        processes.append(player := _launch(player_cmd, logs["player"]))
        while player.poll() is None and node.poll() is None:  # a node that dies at start-up ends the wait
            time.sleep(0.5)
        if node.poll() is not None:
            raise MMTrackerError(f"the node exited during the run ({node.returncode}):\n{_tail(logs['node'])}")
        if player.returncode not in (0, 1):  # 1: a corrupt input bag, played up to the bad message
            raise MMTrackerError(
                f"bag player failed ({player.returncode}):\n{_tail(logs['player'], 2000)}\n"
                f"node log ({logs['node']}):\n{_tail(logs['node'], 2000)}"
            )
        time.sleep(config.settle_s)
    finally:
        for process in reversed(processes):
            _stop(process)
    if recorder.returncode not in (0, -signal.SIGINT):
        raise MMTrackerError(f"bag_recorder failed ({recorder.returncode}):\n{_tail(logs['recorder'])}")
    return result_bag


def read_results(result_bag: Path, run: SequenceRun, results: ResultTopics | None = None) -> None:
    """Fill `run.outputs` from the node's /target and /alignment, and its latency from /diagnostics."""
    results = results or ResultTopics()
    alignments: dict[int, tuple[np.ndarray, tuple[str, ...]]] = {}
    targets: dict[int, tuple[np.ndarray, float, int]] = {}
    latency: dict[str, float] = {}
    with iter_messages(result_bag, vars(results).values()) as messages:
        for topic, _, msg in messages:
            if topic == results.target and msg.state != TrackState.IDLE:
                targets[stamp_ns(msg.header)] = (box_array(msg.box), float(msg.score), int(msg.state))
            elif topic == results.alignment:
                matrix = np.array(msg.frame_homography, dtype=np.float64).reshape(3, 3)
                alignments[stamp_ns(msg.header)] = (matrix, tuple(msg.stage_experts))
            elif topic == results.diagnostics:
                for status in msg.status:
                    values = {kv.key: kv.value for kv in status.values}
                    if "latency_ms_p50" in values:
                        latency = {"p50": float(values["latency_ms_p50"]), "p95": float(values["latency_ms_p95"])}
    for stamp, (box, score, state) in targets.items():
        homography, experts = alignments.get(stamp, (None, ()))
        run.outputs[stamp] = FrameOutput(box, score, state, homography, experts)
    run.node_latency_ms = latency
    if messages.damage:
        run.bag_error = f"result bag: {messages.damage}"
