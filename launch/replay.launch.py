"""Replay a recorded rosbag through the tracker with sim time: `ros2 launch mm_tracker replay.launch.py bag:=DIR`.

`ros2 bag play --clock` publishes /clock; the node runs with use_sim_time so latency and the sync work on
the recorded time. Requires a full ROS 2 install (launch, launch_ros, ros2 bag, rviz2).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    arguments = [
        DeclareLaunchArgument("bag", description="rosbag2 folder to play"),
        DeclareLaunchArgument("rate", default_value="1.0", description="playback rate"),
        DeclareLaunchArgument("rgb_topic", default_value="/camera/color/image_raw"),
        DeclareLaunchArgument("aux_topic", default_value="/thermal/image_raw"),
        DeclareLaunchArgument("calibration_file", default_value=""),
        DeclareLaunchArgument("launch_rviz", default_value="true"),
    ]
    play = ExecuteProcess(
        cmd=["ros2", "bag", "play", LaunchConfiguration("bag"), "--clock", "--rate", LaunchConfiguration("rate")],
        output="screen",
    )
    tracker = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution([FindPackageShare("mm_tracker"), "launch", "tracker.launch.py"])
        ),
        launch_arguments={
            "use_sim_time": "true",
            "rgb_topic": LaunchConfiguration("rgb_topic"),
            "aux_topic": LaunchConfiguration("aux_topic"),
            "calibration_file": LaunchConfiguration("calibration_file"),
            "launch_rviz": LaunchConfiguration("launch_rviz"),
        }.items(),
    )
    return LaunchDescription([*arguments, play, tracker])
