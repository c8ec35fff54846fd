"""rosbag2 files with rosbags (no ROS install needed): the project's message types, writing and reading."""
