"""mm-tracker-convert: import pretrained OSTrack / DropTrack / MAE / NanoTrack weights into an mm_tracker checkpoint."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mm_tracker_model.cli.common import EXIT_USAGE, run_cli
from mm_tracker_model.errors import CheckpointError
from mm_tracker_model.io.checkpoint import save_checkpoint
from mm_tracker_model.io.convert import CONVERTERS, ConversionReport, convert_pretrained, nanotrack_stem
from mm_tracker_model.io.released import read_released_file
from mm_tracker_model.nn.tracker_net import build_net
from mm_tracker_model.presets import FUSIONS, STEMS, get_preset, preset_names


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mm-tracker-convert", description=__doc__)
    parser.add_argument("--from", dest="source", required=True, choices=sorted(CONVERTERS), help="checkpoint family")
    parser.add_argument("input", type=Path, help="pretrained checkpoint file (.pth / .pth.tar)")
    parser.add_argument("--preset", required=True, help=f"one of: {', '.join(preset_names())}")
    parser.add_argument(
        "--stem",
        choices=STEMS,
        help="image stem of the preset (default: the preset's; --from nanotrack: the file's variant)",
    )
    parser.add_argument("--fusion", choices=FUSIONS, help="head input: mean of the streams (default) or PATrack's sum")
    parser.add_argument("--out", required=True, type=Path, help="mm_tracker checkpoint to write")
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="write the checkpoint even when backbone or head entries were not in the input",
    )
    return parser


def _print_report(report: ConversionReport, skipped: dict[str, str]) -> None:
    for where, what in skipped.items():
        print(f"skipped    {where}: stand-in for {what} (not loaded, nothing run)")
    print(f"consumed   {len(report.consumed)} entries")
    for key, how in report.resized.items():
        print(f"resized    {key}: {how}")
    for key, why in report.ignored.items():
        print(f"ignored    {key}: {why}")
    print(f"unexpected {len(report.unexpected)}" + "".join(f"\n  {k}" for k in report.unexpected))
    print(f"missing    {len(report.missing)}" + "".join(f"\n  {k}" for k in report.missing))
    print(f"new        {len(report.new)} entries keep their initialisation (adapters: last projections zero)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    def body() -> int:
        released = read_released_file(args.input)
        overrides = {"stem": args.stem, "fusion": args.fusion}
        if args.source == "nanotrack" and args.stem is None:
            overrides["stem"] = nanotrack_stem(released.content)
        net = build_net(get_preset(args.preset, **{k: v for k, v in overrides.items() if v is not None}))
        try:
            report = convert_pretrained(released.content, args.source, net)
        except CheckpointError as exc:
            raise type(exc)(f"{str(args.input)!r}: {exc}") from exc
        _print_report(report, released.skipped)
        if report.missing and not args.allow_missing:
            print(
                f"error: {len(report.missing)} entries missing from {str(args.input)!r} "
                f"(first: {report.missing[0]!r}); pass --allow-missing to keep them at their initialisation",
                file=sys.stderr,
            )
            return EXIT_USAGE
        metadata = {
            "converted_from": args.source,
            "source_file": args.input.name,
            "consumed": len(report.consumed),
            "missing": report.missing,
            "skipped": released.skipped,
        }
        print(f"wrote {save_checkpoint(args.out, net, metadata)}")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
