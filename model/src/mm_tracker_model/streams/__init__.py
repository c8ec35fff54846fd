"""Image messages as data, and pairing of the two camera streams (no ROS imports: shared by node and eval)."""
