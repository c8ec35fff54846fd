"""Renew a checkpoint's alignment stages in the preset's current design, keeping every other weight.

    .venv/bin/python tools/renew_alignment.py IN.pt OUT.pt

The stages (experts, routers) and the fine matcher are freshly initialised (`train.trainer.with_fresh_alignment`,
seed 0); TCMDA, the backbone, adapters and head are kept. This is how the shipped thermal default was made from
the checkpoint its training recipe writes (model card, "How it was made").
"""

from __future__ import annotations

import sys

import torch

from mm_tracker_model.io.checkpoint import load_checkpoint, load_net, save_checkpoint
from mm_tracker_model.train.trainer import with_fresh_alignment


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source, target = argv
    torch.manual_seed(0)
    metadata = dict(load_checkpoint(source).metadata)
    metadata["alignment_renewed_from"] = source
    net = with_fresh_alignment(load_net(source))
    print(
        f"wrote {save_checkpoint(target, net, metadata)} ({net.config.alignment.readout} readout, "
        f"fine stride {net.config.alignment.fine_stride})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
