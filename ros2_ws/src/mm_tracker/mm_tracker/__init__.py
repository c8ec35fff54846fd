"""ROS 2 shell around the mm_tracker_model library (node, conversion, sync, I/O)."""

from mm_tracker_model.cpu_wait import set_default_wait_policy

set_default_wait_policy()  # the node's modules import torch: the wait policy must be set first
