"""mm_tracker_model: PATrack adapters on an OSTrack ViT for RGB+X tracking (ROS-free)."""

from mm_tracker_model.presets import NetConfig, get_preset, preset_names

__all__ = ["NetConfig", "get_preset", "preset_names"]
__version__ = "0.1.0"
