"""Replay a recorded rosbag through the tracker with sim time: `ros2 launch mm_tracker replay.launch.py bag:=DIR`.

Includes tracker.launch.py (every argument of it applies here too) with use_sim_time and the topics that
`mm-tracker-make-bag` writes. Playback starts once the node is `active`: configuring can take many seconds
(loading the model), and messages published before would be lost. `player:=ros2bag` (`ros2 bag play --clock`)
needs rosbag2 (and its MCAP plugin for MCAP bags); `player:=bag_player` is the package's own player, which also
waits until the node's RGB subscription has matched its publisher. The launch fails (exit 1) when the node or
the player fails; it keeps running after the bag ends, until Ctrl-C.
"""

from pathlib import Path

from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    ExecuteProcess,
    IncludeLaunchDescription,
    OpaqueFunction,
    RegisterEventHandler,
    SetLaunchConfiguration,
)
from launch.conditions import IfCondition, LaunchConfigurationEquals
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.substitutions import FindPackageShare

from mm_tracker.launch_support import bag_storage, end_launch_on_exit, first_ground_truth_box
from mm_tracker_model.bags.topics import BagTopics

BAG = BagTopics()  # what mm-tracker-make-bag writes


def _read_bag(context):
    """Launch configurations read off the bag (a missing bag fails here, before the node starts)."""
    bag = Path(LaunchConfiguration("bag").perform(context))
    settings = [SetLaunchConfiguration("bag_storage", bag_storage(bag))]
    if IfCondition(LaunchConfiguration("initial_box_from_bag")).evaluate(context):
        settings.append(SetLaunchConfiguration("initial_box", first_ground_truth_box(bag, BAG.gt_target)))
    return settings


def generate_launch_description() -> LaunchDescription:
    bag, rate, delay = LaunchConfiguration("bag"), LaunchConfiguration("rate"), LaunchConfiguration("start_delay")
    rgb_topic, storage = LaunchConfiguration("rgb_topic"), LaunchConfiguration("bag_storage")
    arguments = [
        DeclareLaunchArgument("bag", description="rosbag2 folder (or .mcap / .db3 file) to play"),
        DeclareLaunchArgument("rate", default_value="1.0", description="playback rate (> 0)"),
        DeclareLaunchArgument(
            "player",
            default_value="ros2bag",
            choices=["ros2bag", "bag_player"],
            description="ros2bag: `ros2 bag play`; bag_player: the mm_tracker package's player (no rosbag2 needed)",
        ),
        DeclareLaunchArgument(
            "start_delay",
            default_value="1.0",
            description="seconds (> 0) from the node's `active` to the first message: lets the subscriptions match",
        ),
        DeclareLaunchArgument("rgb_topic", default_value=BAG.rgb, description="RGB image topic in the bag"),
        DeclareLaunchArgument("aux_topic", default_value=BAG.aux, description="X image topic in the bag"),
        DeclareLaunchArgument(
            "initial_box_from_bag",
            default_value="false",
            description=f"start from the bag's first ground-truth box ({BAG.gt_target}); overrides initial_box",
        ),
    ]
    tracker = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution([FindPackageShare("mm_tracker"), "launch", "tracker.launch.py"])
        ),
        launch_arguments={
            "use_sim_time": "true",
            "rgb_topic": rgb_topic,
            "aux_topic": LaunchConfiguration("aux_topic"),
        }.items(),
    )
    ros2_bag_play = ExecuteProcess(
        cmd=["ros2", "bag", "play", bag, "--storage", storage, "--clock", "--rate", rate, "--delay", delay],
        output="screen",
        condition=LaunchConfigurationEquals("player", "ros2bag"),
    )
    bag_player = Node(
        package="mm_tracker",
        executable="bag_player",
        arguments=[bag, "--rate", rate, "--start-paused-s", delay, "--wait-for-subscribers", rgb_topic],
        output="screen",
        condition=LaunchConfigurationEquals("player", "bag_player"),
    )
    # The tracker is the only lifecycle node of this launch; handle_once: a later re-activation does not replay.
    play_when_active = RegisterEventHandler(
        OnStateTransition(goal_state="active", entities=[ros2_bag_play, bag_player], handle_once=True)
    )
    return LaunchDescription(
        [
            *arguments,
            OpaqueFunction(function=_read_bag),
            play_when_active,
            tracker,
            *(end_launch_on_exit(player, "bag player", end_on_success=False) for player in (ros2_bag_play, bag_player)),
        ]
    )
