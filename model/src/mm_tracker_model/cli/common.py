"""What every console script shares: error reporting, exit codes, and parsing an image size."""

from __future__ import annotations

import sys
from collections.abc import Callable

from mm_tracker_model.errors import MMTrackerError

EXIT_USAGE = 2


def run_cli(main: Callable[[], int]) -> int:
    """Run a CLI body; library errors become one 'error:' line on stderr and exit code 2, not a traceback."""
    try:
        return main()
    except MMTrackerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def parse_size(text: str, minimum: int = 32) -> tuple[int, int]:
    """'640x480' -> (640, 480); ValueError saying what is wrong."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size {text!r}: expected WIDTHxHEIGHT, e.g. 640x480") from None
    if width < minimum or height < minimum:
        raise ValueError(f"size {text!r}: at least {minimum}x{minimum}")
    return width, height
