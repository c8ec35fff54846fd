"""The node and offline evaluation run the same per-frame path: one bag, the same boxes frame by frame.

The bag is replayed slowly enough that the live node drops nothing, with the node's own thread count in the
offline run too, so the two may differ only by float rounding. It ends on an X frame: live, an RGB frame after
the last X frame waits for data that never comes (offline, the end of the input releases it).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mm_tracker_model.bags.write import BagOptions, write_bag
from mm_tracker_model.data.synthetic import SynthConfig, read_synthetic, write_sequence
from mm_tracker_model.eval.driver import EvalJob, evaluate_all
from mm_tracker_model.eval.inputs import EvalInput
from mm_tracker_model.eval.live import LiveConfig
from mm_tracker_model.weights import default_checkpoint

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(default_checkpoint() is None, reason="no default model in model/weights/"),
]


def test_live_node_and_offline_evaluation_give_the_same_boxes(tmp_path):
    sequence = read_synthetic(write_sequence(tmp_path / "synth", SynthConfig(frames=37, seed=7), 0))
    bag = write_bag(sequence, tmp_path / "bag", BagOptions(rate_hz=30.0, aux_every=3))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the node's default cpu_threads
    try:
        offline = evaluate_all([EvalInput(bag)], EvalJob(tmp_path / "offline", video=False), progress=False)
    finally:
        torch.set_num_threads(threads)
    live_job = EvalJob(tmp_path / "live", live=True, video=False, live_config=LiveConfig(rate=0.03))
    live = evaluate_all([EvalInput(bag)], live_job, progress=False)
    assert not offline.failed and not live.failed, (offline.failed, live.failed)
    offline_run, live_run = offline.runs[0], live.runs[0]
    assert offline_run.frames_without_output() == 0
    assert live_run.frames_without_output() == 0, "the live node dropped frames: replay slower"
    stamps = sorted(offline_run.outputs)
    assert sorted(live_run.outputs) == stamps and len(stamps) == 37
    offline_boxes = np.array([offline_run.outputs[s].box for s in stamps])
    live_boxes = np.array([live_run.outputs[s].box for s in stamps])
    np.testing.assert_allclose(live_boxes, offline_boxes, atol=0.05)
    offline_h = np.array([offline_run.outputs[s].homography for s in stamps])
    live_h = np.array([live_run.outputs[s].homography for s in stamps])
    np.testing.assert_allclose(live_h, offline_h, atol=1e-3)
