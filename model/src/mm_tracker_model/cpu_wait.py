"""How torch's CPU worker threads wait between operators: passively, unless the user chose otherwise.

OpenMP workers that spin while waiting collapse throughput once another process wants the same cores, as on a
robot's computer: with one busy process beside it on 2 cores, the default engine ran at 2.6-4.0 FPS with 2
spinning threads against 7.3 with 2 passive ones (README, "Performance"). OpenMP reads the setting when torch
loads it, so this must run before `import torch`: the library's and the node's package `__init__` call it.
"""

from __future__ import annotations

import os

WAIT_POLICY = "PASSIVE"


def set_default_wait_policy() -> str:
    """OMP_WAIT_POLICY for this process and its children (an existing value is kept); returns the value."""
    return os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
