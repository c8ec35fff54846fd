"""mm-tracker-info: parameters, MACs and token counts of a preset."""

from __future__ import annotations

import argparse
import json

from mm_tracker_model.accounting import account
from mm_tracker_model.cli.common import run_cli
from mm_tracker_model.nn.tracker_net import TRAINING_MODES, build_net
from mm_tracker_model.presets import preset_names


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mm-tracker-info", description=__doc__)
    parser.add_argument("--preset", required=True, help=f"one of: {', '.join(preset_names())}")
    parser.add_argument(
        "--training-mode",
        default="adapters",
        choices=sorted(TRAINING_MODES),
        help="which groups count as trainable (default: adapters, the parameter-efficient stage)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON (plain counts) instead of a table")
    return parser


def _millions(n: int) -> str:
    return f"{n / 1e6:10.2f} M"


def _giga(n: int) -> str:
    return f"{n / 1e9:10.2f} G"


def format_table(report: dict) -> str:
    params, macs, tokens = report["params"], report["macs"], report["tokens"]
    lines = [f"preset {report['preset']}", "parameters"]
    lines += [f"  {k:<28}{_millions(params[k])}" for k in ("total", "used", "trainable")]
    lines += [
        f"  group {g:<22}{_millions(c['total'])}  (trainable {c['trainable'] / 1e6:.2f} M)"
        for g, c in params["groups"].items()
    ]
    lines += ["MACs per template+search pair"]
    lines += [
        f"  {'total (every op)':<28}{_giga(macs['total'])}",
        f"  {'modules (Linear + conv)':<28}{_giga(macs['modules'])}",
    ]
    lines += [f"  group {g:<22}{_giga(n)}" for g, n in macs["groups"].items()]
    if macs.get("alignment_stages"):
        lines += [f"  {'alignment, all experts':<28}{_giga(macs['alignment_all_experts'])}"]
        lines += [f"  {'alignment, max hard route':<28}{_giga(macs['alignment_hard_route_max'])}"]
        for k, stage in enumerate(macs["alignment_stages"]):
            lines += [f"  stage {k} " + "  ".join(f"{name} {n / 1e6:.1f} M" for name, n in stage.items())]
    lines += ["tokens"] + [f"  {k:<28}{v:>10}" for k, v in tokens.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    def body() -> int:
        report = account(build_net(args.preset, args.training_mode)).to_dict()
        print(json.dumps(report, indent=2) if args.json else format_table(report))
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
