"""mm-tracker-demo: the smallest end-to-end run until the replay demo exists.

Renders a synthetic RGB + thermal crop pair with a known target, runs the packaged default model (or
--checkpoint; a randomly initialised --preset when neither exists) on it and prints the box and the latency.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mm_tracker_model.cli.common import run_cli
from mm_tracker_model.engine.crops import normalise
from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.nn.tracker_net import TrackerNet, build_net
from mm_tracker_model.presets import preset_names
from mm_tracker_model.weights import default_checkpoint


@dataclass
class DemoResult:
    preset: str
    box_cxcywh: tuple[float, float, float, float]  # normalised search-crop units
    peak_score: float
    latency_ms: float


def _tensor(image_uint8: np.ndarray) -> torch.Tensor:
    return normalise(torch.from_numpy(image_uint8).permute(2, 0, 1).unsqueeze(0))


def synthetic_pair(size: int, target_box: tuple[int, int, int, int], x_shift: tuple[int, int], seed: int = 0):
    """An RGB crop with a red target on texture, and a thermal-like crop with the warm target shifted."""
    rng = np.random.default_rng(seed)
    rgb = rng.integers(40, 120, size=(size, size, 3), dtype=np.uint8)
    thermal = np.full((size, size, 3), 60, dtype=np.uint8) + rng.integers(0, 8, size=(size, size, 1), dtype=np.uint8)
    x0, y0, w, h = target_box
    rgb[y0 : y0 + h, x0 : x0 + w] = (220, 40, 40)
    dx, dy = x_shift
    thermal[y0 + dy : y0 + dy + h, x0 + dx : x0 + dx + w] = 230
    return rgb, thermal


def run_demo_forward(net: TrackerNet, seed: int = 0) -> DemoResult:
    cfg = net.config
    t_size, s_size = cfg.template_size, cfg.search_size
    template_rgb, template_x = synthetic_pair(
        t_size, (t_size // 4, t_size // 4, t_size // 2, t_size // 2), (0, 0), seed
    )
    search_rgb, search_x = synthetic_pair(s_size, (s_size // 2, s_size // 3, s_size // 4, s_size // 4), (6, 4), seed)
    net.eval()
    with torch.inference_mode():
        start = time.perf_counter()
        out = net((_tensor(template_rgb), _tensor(template_x)), (_tensor(search_rgb), _tensor(search_x)))
        latency_ms = (time.perf_counter() - start) * 1e3
    box = tuple(float(v) for v in out.boxes[0])
    return DemoResult(cfg.name, box, float(out.score_map.max()), latency_ms)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mm-tracker-demo", description=__doc__)
    parser.add_argument("--preset", default="full_tiny", help=f"one of: {', '.join(preset_names())}")
    parser.add_argument("--checkpoint", type=Path, help="mm_tracker checkpoint (default: the packaged default model)")
    args = parser.parse_args(argv)

    def body() -> int:
        torch.manual_seed(0)
        checkpoint = args.checkpoint or default_checkpoint()
        net = load_net(checkpoint) if checkpoint else build_net(args.preset)
        result = run_demo_forward(net)
        cx, cy, w, h = result.box_cxcywh
        print(
            f"preset {result.preset}: box (cx, cy, w, h) = ({cx:.3f}, {cy:.3f}, {w:.3f}, {h:.3f}) of the search crop, "
            f"peak score {result.peak_score:.3f}, forward {result.latency_ms:.1f} ms on the CPU"
        )
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
