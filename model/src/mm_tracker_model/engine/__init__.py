"""The ROS-free per-frame tracker: modality preprocessing, crops, the network, TOCU and guards."""

from mm_tracker_model.engine.tracker import EngineConfig, Tracker, TrackResult, TrackState

__all__ = ["EngineConfig", "TrackResult", "TrackState", "Tracker"]
