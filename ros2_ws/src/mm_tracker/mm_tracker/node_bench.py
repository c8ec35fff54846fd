"""node_bench: end-to-end FPS and latency through the real node process over Fast DDS on loopback.

Publishes a generated RGB (640x480, 30 Hz) + 16-bit thermal (640x512, 9 Hz) stream, starts the node as its
own process, and measures the targets it publishes: rate, and latency = arrival time - RGB stamp (one
machine, one clock), and the node's resident memory when measuring starts and when it ends: a soak run
(`--seconds 600`) shows whether memory stays flat. `ros2 run mm_tracker node_bench -- --seconds 20 [--json]`.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import time

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from mm_tracker.diagnostics import PHASE_PREFIX
from mm_tracker_model.data.toy import toy_sequence
from mm_tracker_model.executables import ros_executable
from mm_tracker_model.streams.image_msgs import array_to_image_fields
from mm_tracker_model.topics import NODE
from mm_tracker_msgs.msg import TrackedTarget

# /diagnostics counters the report carries: how often the engine estimated the alignment, how many frames it lost.
NODE_COUNTERS = ("alignment_estimates", "alignment_reused", "tocu_attempts", "dropped_while_busy", "aux_stale")


def resident_mib(pid: int) -> float:
    """Resident set size of a process (Linux /proc), MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"process {pid} reports no VmRSS")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="node_bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rgb-hz", type=float, default=30.0)
    parser.add_argument("--aux-hz", type=float, default=9.0)
    parser.add_argument("--preset", default="full_tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME:=VALUE",
        help="a further node parameter, e.g. int8:=never or checkpoint:=FILE (repeatable)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    for param in args.param:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*:=.+", param):
            parser.error(f"--param {param!r}: expected NAME:=VALUE")

    frames = toy_sequence(frames=60, rgb_size=(640, 480), x_size=(640, 512), seed=11)
    rgb_fields = [array_to_image_fields(f.rgb, "rgb8") for f in frames]
    aux_fields = [array_to_image_fields(f.x[..., 0].astype(np.uint16) * 40 + 20000, "16UC1") for f in frames]
    box = frames[0].box
    node_args = [
        str(ros_executable("mm_tracker_node")),
        "--ros-args",
        "-p",
        f"device:={args.device}",
        "-p",
        f"preset:={args.preset}",
        "-p",
        f"initial_box:=[{box[0]:.1f}, {box[1]:.1f}, {box[2]:.1f}, {box[3]:.1f}]",
        *[part for param in args.param for part in ("-p", param)],
    ]
    process = subprocess.Popen(node_args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rclpy.init(args=[])  # not sys.argv: its NAME:=VALUE would read as (deprecated) remap rules
    node = rclpy.create_node("mm_tracker_node_bench")
    latencies: list[float] = []

    def on_target(msg: TrackedTarget) -> None:
        if msg.state != TrackedTarget.IDLE:
            now = time.time_ns()
            stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            latencies.append((now - stamp) / 1e6)

    node.create_subscription(TrackedTarget, NODE.target, on_target, 100)
    diagnostics: dict[str, str] = {}  # the node's latest report

    def on_diagnostics(msg: DiagnosticArray) -> None:
        for status in msg.status:
            diagnostics.update({kv.key: kv.value for kv in status.values})

    node.create_subscription(DiagnosticArray, NODE.diagnostics, on_diagnostics, 10)
    qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    rgb_pub, aux_pub = node.create_publisher(Image, NODE.rgb, qos), node.create_publisher(Image, NODE.aux, qos)
    try:
        deadline = time.monotonic() + 120
        while rgb_pub.get_subscription_count() == 0:
            if process.poll() is not None or time.monotonic() > deadline:
                print("error: the node did not start", file=sys.stderr)
                return 1
            rclpy.spin_once(node, timeout_sec=0.2)
        warmup_end = time.monotonic() + 5.0
        start, sent, next_aux, index = time.monotonic(), 0, 0.0, 0
        rss_start = resident_mib(process.pid)  # replaced when measuring starts
        measured_from = None
        while True:
            now = time.monotonic()
            if now >= warmup_end and measured_from is None:
                measured_from, latencies[:] = now, []
                rss_start = resident_mib(process.pid)
            if measured_from is not None and now - measured_from >= args.seconds:
                break
            stamp = node.get_clock().now().to_msg()
            rgb = Image(**rgb_fields[index % len(frames)])
            rgb.header.stamp, rgb.header.frame_id = stamp, "rgb_camera"
            rgb_pub.publish(rgb)
            sent += 1
            if now - start >= next_aux:
                aux = Image(**aux_fields[index % len(frames)])
                aux.header.stamp, aux.header.frame_id = stamp, "thermal_camera"
                aux_pub.publish(aux)
                next_aux += 1.0 / args.aux_hz
            index += 1
            target_time = start + index / args.rgb_hz
            while (remaining := target_time - time.monotonic()) > 0:
                rclpy.spin_once(node, timeout_sec=remaining)
        report = {
            "preset": args.preset,
            "device": args.device,
            "seconds": args.seconds,
            "rgb_hz": args.rgb_hz,
            "aux_hz": args.aux_hz,
            "params": args.param,
            "fps": len(latencies) / args.seconds,
            "latency_ms": {f"p{q}": float(np.percentile(latencies, q)) for q in (50, 95, 99)} if latencies else {},
            "targets": len(latencies),
            "rss_mib": {"start": rss_start, "end": (rss_end := resident_mib(process.pid))},
            "rss_change": rss_end / rss_start - 1.0,
            # The node's own view (its /diagnostics, last report): median ms per phase of a tracked frame.
            "phases_ms_p50": {
                key[len(PHASE_PREFIX) : -len("_ms_p50")]: float(value)
                for key, value in diagnostics.items()
                if key.startswith(PHASE_PREFIX)
            },
            # What the node's engine and per-frame path counted over its life (warm-up included).
            "node_counters": {key: int(diagnostics[key]) for key in NODE_COUNTERS if key in diagnostics},
        }
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        node.destroy_node()
        rclpy.try_shutdown()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        lat = report["latency_ms"]
        print(
            f"{report['preset']} on {report['device']}: {report['fps']:.1f} FPS through the node "
            f"(RGB {args.rgb_hz:g} Hz 640x480, thermal {args.aux_hz:g} Hz 640x512 16UC1), latency ms "
            f"p50 {lat.get('p50', float('nan')):.1f} p95 {lat.get('p95', float('nan')):.1f} "
            f"p99 {lat.get('p99', float('nan')):.1f}; node resident memory {report['rss_mib']['start']:.0f} -> "
            f"{report['rss_mib']['end']:.0f} MiB ({100 * report['rss_change']:+.1f} %)"
        )
        phases = ", ".join(f"{name} {ms:.1f}" for name, ms in report["phases_ms_p50"].items())
        print(f"node phases, median ms per tracked frame: {phases or 'none reported'}")
        counters = ", ".join(f"{name} {count}" for name, count in report["node_counters"].items())
        print(f"node counters: {counters or 'none reported'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
