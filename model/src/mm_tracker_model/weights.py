"""Where the project's own default model lives (model/weights/); nothing is ever downloaded."""

from __future__ import annotations

from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
DEFAULT_CHECKPOINT_NAME = "full_tiny_default.pt"


def default_checkpoint() -> Path | None:
    """The packaged default checkpoint, or None while the project has not trained one."""
    path = WEIGHTS_DIR / DEFAULT_CHECKPOINT_NAME
    return path if path.is_file() else None
