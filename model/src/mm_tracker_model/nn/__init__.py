"""Networks: two-stream OSTrack ViT backbone, PATrack adapters, CENTER head, and the assembled tracker net."""

from mm_tracker_model.nn.tracker_net import NetOutput, TrackerNet, build_net

__all__ = ["NetOutput", "TrackerNet", "build_net"]
