"""mm_tracker_model: PATrack adapters on an OSTrack ViT for RGB+X tracking (ROS-free)."""

from mm_tracker_model.cpu_wait import set_default_wait_policy

set_default_wait_policy()  # before anything imports torch (cpu_wait.py says why)

from mm_tracker_model.presets import NetConfig, get_preset, preset_names  # noqa: E402

__all__ = ["NetConfig", "get_preset", "preset_names"]
__version__ = "0.1.0"
