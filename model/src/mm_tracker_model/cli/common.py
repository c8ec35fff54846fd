"""What every console script shares: error reporting and exit codes."""

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
