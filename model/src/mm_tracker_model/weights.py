"""Where the project's own default models live (model/weights/); nothing is ever downloaded.

`full_tiny_default.pt` is the RGB + thermal default; a modality with its own file
(`full_tiny_<modality>.pt`, e.g. depth) uses that, any other falls back to the thermal default.
"""

from __future__ import annotations

from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
DEFAULT_CHECKPOINT_NAME = "full_tiny_default.pt"


def default_checkpoint(modality: str = "thermal") -> Path | None:
    """The packaged default checkpoint for `modality`, or None while the project has not trained one."""
    specific = WEIGHTS_DIR / f"full_tiny_{modality}.pt"
    if modality != "thermal" and specific.is_file():
        return specific
    path = WEIGHTS_DIR / DEFAULT_CHECKPOINT_NAME
    return path if path.is_file() else None
