"""PMATrack's progressive alignment branch: DMAE stages (TRE, FME, DPE + router) and TCMDA."""

from mm_tracker_model.nn.alignment.branch import AlignmentBranch, AlignmentOutput, StageOutput

__all__ = ["AlignmentBranch", "AlignmentOutput", "StageOutput"]
