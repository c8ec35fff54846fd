"""ROS 2 shell around the mm_tracker_model library (node, conversion, sync, I/O)."""
