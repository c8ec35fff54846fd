"""On a CUDA device the engine computes what it computes on the CPU (fp32), and bf16 stays close.

Run by `tools/gpu_job.sh` on a machine with a GPU; here they skip (this machine has none).
"""

import numpy as np
import pytest
import torch

from mm_tracker_model.data.toy import toy_sequence
from mm_tracker_model.engine import EngineConfig, Tracker
from mm_tracker_model.nn.tracker_net import build_net

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def _boxes(net, config, frames):
    tracker = Tracker(net, config)
    tracker.initialize(frames[0].rgb, frames[0].x, frames[0].box, frames[0].x_to_rgb)
    return np.array([tracker.track(f.rgb, f.x).box for f in frames[1:]])


@pytest.fixture(scope="module")
def frames():
    return toy_sequence(8, seed=3)


@pytest.mark.parametrize("preset", ["full_tiny", "full_base"])
def test_cuda_fp32_tracks_as_the_cpu_does(preset, frames):
    torch.manual_seed(0)
    net = build_net(preset).eval()
    cpu = _boxes(net, EngineConfig(device="cpu", tocu_every=3, int8="never"), frames)  # float on both
    gpu = _boxes(net, EngineConfig(device="cuda", tocu_every=3), frames)
    np.testing.assert_allclose(gpu, cpu, atol=0.5)  # pixels: TF32 and kernel order, not a different result


def test_cuda_bf16_stays_close_to_fp32(frames):
    torch.manual_seed(0)
    net = build_net("full_tiny").eval()
    fp32 = _boxes(net, EngineConfig(device="cuda"), frames)
    bf16 = _boxes(net, EngineConfig(device="cuda", precision="bf16"), frames)
    assert np.abs(bf16 - fp32).max() < 8.0  # bf16 keeps 8 bits of mantissa; boxes within a few pixels
