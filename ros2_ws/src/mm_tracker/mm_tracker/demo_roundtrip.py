"""Interim demo: the model's box, published as mm_tracker_msgs/Box2D over DDS and received by a second node.

Proves the whole installed stack (model library, rclpy, Fast DDS, the colcon-built interfaces) end to end;
the tracker node and the replay demo replace it.
"""

from __future__ import annotations

import sys
import time

import rclpy
from rclpy.node import Node

from mm_tracker_model.cli.demo import run_demo_forward
from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.nn.tracker_net import build_net
from mm_tracker_model.weights import default_checkpoint
from mm_tracker_msgs.msg import Box2D

TOPIC = "demo/box"
TIMEOUT_S = 10.0


def main() -> int:
    checkpoint = default_checkpoint()
    net = load_net(checkpoint) if checkpoint else build_net("full_tiny")
    result = run_demo_forward(net)
    size = net.config.search_size
    cx, cy, w, h = (v * size for v in result.box_cxcywh)
    sent = Box2D(x=cx - w / 2, y=cy - h / 2, width=w, height=h)

    rclpy.init()
    received: list[Box2D] = []
    try:
        publisher_node, listener_node = Node("mm_tracker_demo_publisher"), Node("mm_tracker_demo_listener")
        listener_node.create_subscription(Box2D, TOPIC, received.append, 1)
        publisher = publisher_node.create_publisher(Box2D, TOPIC, 1)
        executor = rclpy.executors.SingleThreadedExecutor()
        executor.add_node(publisher_node)
        executor.add_node(listener_node)
        deadline = time.monotonic() + TIMEOUT_S
        while not received and time.monotonic() < deadline:
            publisher.publish(sent)
            executor.spin_once(timeout_sec=0.1)
    finally:
        rclpy.try_shutdown()
    if not received:
        print(f"error: no Box2D came back on {TOPIC!r} within {TIMEOUT_S:.0f} s", file=sys.stderr)
        return 1
    box = received[0]
    print(
        f"published and received on {TOPIC}: Box2D x={box.x:.1f} y={box.y:.1f} w={box.width:.1f} "
        f"h={box.height:.1f} (search-crop pixels)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
