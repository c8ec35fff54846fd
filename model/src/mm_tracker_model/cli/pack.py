"""mm-tracker-pack: decode and crop a training config's data once into a compact pack (data/pack.py).

    mm-tracker-pack --config train.yaml --out runs/pack_thermal.npz [--entries 400] [--max-mib 24]

The pack holds pairs of the config's sources (synthetic, real RGB + pseudo-X, datasets, still pairs; not its
packs); train from it with `packs: [runs/pack_thermal.npz]` in a training config.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mm_tracker_model.cli.common import run_cli
from mm_tracker_model.data.pack import PACK_BUDGET_MIB, PackConfig, build_pack, write_pack
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.presets import get_preset
from mm_tracker_model.train.config import load_train_config
from mm_tracker_model.train.trainer import build_sequences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mm-tracker-pack", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="training config whose data is packed")
    parser.add_argument("--out", type=Path, required=True, help="pack file to write (.npz)")
    parser.add_argument("--entries", type=int, default=PackConfig.entries)
    parser.add_argument("--max-gap", type=int, default=PackConfig.max_gap, help="frames between template and search")
    parser.add_argument("--context", type=float, default=PackConfig.context, help="canvas side in target sizes")
    parser.add_argument("--max-mib", type=float, default=PACK_BUDGET_MIB, help="stop adding entries beyond this")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    def body() -> int:
        config = load_train_config(args.config)
        try:
            pack = PackConfig(args.entries, args.max_gap, args.context, args.seed, args.max_mib)
        except ValueError as exc:
            raise MMTrackerError(str(exc)) from exc
        sources = build_sequences(config, with_packs=False)
        modalities = {getattr(s, "modality", None) or s.as_sequence().modality for s in sources}
        if len(modalities) != 1:
            raise MMTrackerError(f"a pack holds one X modality; this config's sources have {sorted(modalities)}")
        net = get_preset(config.preset)
        entries = build_pack(sources, net, pack, progress=True)
        path = write_pack(args.out, entries, net, pack, modalities.pop())
        print(f"wrote {len(entries)} entries to {path} ({path.stat().st_size / 2**20:.1f} MiB)")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
