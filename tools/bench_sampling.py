"""Training samples per second, drawn from a training config's sources and from a pack of them.

    .venv/bin/python tools/bench_sampling.py CFG.yaml PACK.npz [--samples 64]

One thread, the sampler as training runs it; the numbers go in the README ("Training pack").
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mm_tracker_model.data.pack import read_pack
from mm_tracker_model.data.sampler import PairSampler, SamplerConfig
from mm_tracker_model.presets import get_preset
from mm_tracker_model.train.config import load_train_config
from mm_tracker_model.train.trainer import build_sequences


def rate(sampler: PairSampler, samples: int) -> float:
    rng = np.random.default_rng(0)
    sampler.sample(rng)  # warm caches
    start = time.perf_counter()
    for _ in range(samples):
        sampler.sample(rng)
    return samples / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config")
    parser.add_argument("pack")
    parser.add_argument("--samples", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_train_config(args.config)
    net, sampler_config = get_preset(config.preset), SamplerConfig(**config.sampler)
    sources = PairSampler(build_sequences(config, with_packs=False), net, sampler_config)
    packed = PairSampler(read_pack(args.pack)[1], net, sampler_config)
    print(f"sources: {rate(sources, args.samples):.1f} samples/s   pack: {rate(packed, args.samples):.1f} samples/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
