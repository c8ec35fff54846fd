"""mm-tracker-evaluate: deprecated alias of `mm-tracker-eval --synthetic DIR [--settings ...]` (kept one release)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mm_tracker_model.cli import eval as eval_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mm-tracker-evaluate", description=__doc__)
    parser.add_argument("--synthetic", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--settings")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    args = parser.parse_args(argv)
    print("mm-tracker-evaluate is deprecated: use mm-tracker-eval --synthetic DIR", file=sys.stderr)
    forwarded = ["--synthetic", str(args.synthetic)]
    forwarded += ["--checkpoint", str(args.checkpoint)] if args.checkpoint else []
    forwarded += ["--settings", args.settings] if args.settings else []
    forwarded += ["--json", "-", "--quiet"] if args.json else []
    return eval_cli.main(forwarded)


if __name__ == "__main__":
    raise SystemExit(main())
