"""StreamTracker, the per-frame path the node and offline evaluation share: messages in, a result and timings out."""

from types import SimpleNamespace

import numpy as np
import torch

from mm_tracker_model.data.toy import toy_sequence
from mm_tracker_model.engine import EngineConfig, Tracker
from mm_tracker_model.engine.stream import StreamConfig, StreamTracker
from mm_tracker_model.nn.tracker_net import build_net
from mm_tracker_model.streams.image_msgs import array_to_image_fields
from mm_tracker_model.streams.sync_policy import SyncedPair

FRAMES = toy_sequence(frames=3, seed=4)


def _pair(index: int, aux: bool = True) -> SyncedPair:
    frame = FRAMES[index]
    rgb = SimpleNamespace(**array_to_image_fields(frame.rgb, "rgb8"))
    x = SimpleNamespace(**array_to_image_fields(frame.x, "rgb8")) if aux else None
    stamp = index * 33_000_000
    return SyncedPair(stamp, rgb, stamp if aux else None, x)


def test_a_stream_starts_tracks_and_times_the_conversion_apart_from_the_engine():
    torch.manual_seed(0)
    stream = StreamTracker(Tracker(build_net("full_tiny"), EngineConfig()), StreamConfig())
    idle = stream.process(_pair(0))
    assert idle.result is None and idle.convert_ms > 0  # no target yet: converted, nothing tracked
    stream.request_target(FRAMES[0].box, FRAMES[0].x_to_rgb)
    started = stream.process(_pair(0))
    assert started.started and np.allclose(started.result.box, FRAMES[0].box)
    tracked = stream.process(_pair(1))
    assert not tracked.started and tracked.convert_ms > 0
    assert {"preprocess", "forward", "postprocess", "tocu"} == set(tracked.result.timings_ms)
    alone = stream.process(_pair(2, aux=False))  # no X near this frame: RGB-only, counted, not lost
    assert alone.result is not None and alone.aux is None
    assert [d.name for d in alone.degradations] == ["aux_missing"] and stream.degradations["aux_missing"] == 1
