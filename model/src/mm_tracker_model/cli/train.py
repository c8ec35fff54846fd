"""mm-tracker-train: train a preset from a YAML config (single process, or under torchrun for DDP)."""

from __future__ import annotations

import argparse

from mm_tracker_model.cli.common import run_cli
from mm_tracker_model.train.config import load_train_config
from mm_tracker_model.train.trainer import train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mm-tracker-train", description=__doc__)
    parser.add_argument("--config", required=True, help="training YAML (fields: mm_tracker_model/train/config.py)")
    parser.add_argument("--resume", help="last.pt of an earlier run to continue from")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs, CI)")
    args = parser.parse_args(argv)

    def body() -> int:
        result = train(load_train_config(args.config), resume=args.resume, progress=not args.no_progress)
        print(f"wrote {result.checkpoint}")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
