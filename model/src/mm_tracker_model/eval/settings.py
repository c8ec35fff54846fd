"""The model card's comparison: one checkpoint on sequences with known homographies, in three settings.

`full` (calibration = the true homography at the first frame, then online alignment), `no_online_alignment`
(that calibration is kept) and `identity` (no calibration and no alignment: X is taken as aligned). Each runs
the offline evaluation (`eval.offline`: the node's sync policy and engine) and is scored like mm-tracker-eval.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass

import torch
from tqdm import tqdm

from mm_tracker_model.bags.write import sequence_messages
from mm_tracker_model.data.sequence import Sequence
from mm_tracker_model.engine import EngineConfig
from mm_tracker_model.eval.offline import OfflineConfig, run_offline
from mm_tracker_model.eval.report import summarise
from mm_tracker_model.eval.runs import SequenceRun

SETTINGS = ("full", "no_online_alignment", "identity")


@dataclass
class EvaluationReport:
    setting: str
    pr: float
    npr: float
    sr: float
    align_corner_err_px: float
    sequences: int
    frames: int

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate(
    net: torch.nn.Module,
    sequences: list[Sequence],
    setting: str = "full",
    progress: bool = False,
    engine: EngineConfig | None = None,
):
    """One setting over `sequences`; `engine`: the engine's other settings (default: its defaults)."""
    if setting not in SETTINGS:
        raise ValueError(f"setting {setting!r} unknown; known: {', '.join(SETTINGS)}")
    net.eval()
    engine = dataclasses.replace(engine or EngineConfig(), online_alignment=setting == "full")
    config = OfflineConfig(engine=engine, true_calibration=setting != "identity")
    runs = []
    for sequence in tqdm(sequences, desc=setting, disable=not progress):
        run = SequenceRun(sequence.name, sequence.modality, gt_every=sequence.gt_every)
        messages = ((name, msg) for name, _, msg in sequence_messages(sequence))
        runs.append(run_offline(net, messages, run, config))
    overall = summarise(runs)["overall"]
    frames = sum(len(r.rgb_stamps) for r in runs)
    return EvaluationReport(
        setting, overall["pr"], overall["npr"], overall["sr"], overall["align_corner_err_px"], len(runs), frames
    )
