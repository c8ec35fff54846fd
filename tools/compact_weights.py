"""Rewrite a checkpoint with its floating-point tensors stored in half precision (float32 when loaded).

    .venv/bin/python tools/compact_weights.py IN.pt OUT.pt

Halves the file so the three shipped defaults and a training pack travel to a GPU machine within 64 MiB
(README, "Weights on disk"); prints the largest change of any weight and of the network's outputs on a
fixed random input.
"""

from __future__ import annotations

import sys

import torch

from mm_tracker_model.io.checkpoint import load_checkpoint, load_net, save_checkpoint


def _outputs(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    cfg = net.config
    generator = torch.Generator().manual_seed(0)
    template = [torch.randn(1, 3, cfg.template_size, cfg.template_size, generator=generator) for _ in range(2)]
    search = [torch.randn(1, 3, cfg.search_size, cfg.search_size, generator=generator) for _ in range(2)]
    with torch.no_grad():
        out = net(tuple(template), tuple(search))
    return {"score_map": out.score_map, "boxes": out.boxes}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source, target = argv
    before = load_net(source).eval()
    save_checkpoint(target, before, load_checkpoint(source).metadata, storage="float16")
    after = load_net(target).eval()
    weight_change = max(
        float((a - b).abs().max())
        for a, b in zip(before.state_dict().values(), after.state_dict().values(), strict=True)
    )
    changed = _outputs(after)
    output_change = {k: round(float((v - changed[k]).abs().max()), 6) for k, v in _outputs(before).items()}
    print(f"wrote {target}: largest weight change {weight_change:.2e}; output change " + str(output_change))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
