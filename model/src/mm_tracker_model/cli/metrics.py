"""mm-tracker-metrics: score a folder of raw tracker results with a benchmark toolkit's exact conventions.

Result files are `<seq>.txt` or `<prefix>_<seq>.txt`; ground truth is a folder of `<seq>.txt` files or of
`<seq>/` folders (visible.txt + infrared.txt, groundTruth_v.txt + groundTruth_i.txt, rgb.txt + ir.txt, ...).
Values are fractions in [0, 1].
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mm_tracker_model.cli.common import run_cli
from mm_tracker_model.eval.toolkits import TOOLKITS, evaluate_folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mm-tracker-metrics", description=__doc__)
    parser.add_argument("--toolkit", required=True, choices=list(TOOLKITS))
    parser.add_argument("--gt", type=Path, required=True, help="ground-truth folder")
    parser.add_argument("--results", type=Path, required=True, help="folder of one tracker's result files")
    parser.add_argument("--sequences", type=Path, help="sequence list (one name a line); default: every GT sequence")
    parser.add_argument("--json", action="store_true", help='{"toolkit", "overall", "sequences"} on stdout')
    args = parser.parse_args(argv)

    def body() -> int:
        result = evaluate_folders(args.toolkit, args.gt, args.results, args.sequences)
        if result.skipped:
            print(
                f"note: {len(result.skipped)} ground-truth sequence(s) have no result file in {args.results} "
                f"and were not scored (e.g. {result.skipped[0]!r})",
                file=sys.stderr,
            )
        if args.json:
            print(json.dumps(result.to_dict(), indent=2))
            return 0
        keys = list(result.overall)
        frames = sum(s.frames for s in result.sequences.values())
        print(f"{'toolkit':<12}{'sequences':>10}{'frames':>10}" + "".join(f"{k.upper():>8}" for k in keys))
        print(
            f"{result.toolkit:<12}{len(result.sequences):>10}{frames:>10}"
            + "".join(f"{result.overall[k]:8.3f}" for k in keys)
        )
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
