"""Start the mm_tracker node on a robot: `ros2 launch mm_tracker tracker.launch.py rgb_topic:=... aux_topic:=...`.

Every node parameter default lives in the node (mm_tracker/parameters.py); this file only forwards the
arguments a user sets. Requires a full ROS 2 install (launch, launch_ros, rviz2).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

# Node parameters exposed as launch arguments: (name, default as text, description).
NODE_ARGUMENTS = [
    ("aux_modality", "thermal", "thermal | depth | event"),
    ("checkpoint", "", "mm_tracker checkpoint; empty: the packaged default model"),
    ("preset", "full_tiny", "network preset when no checkpoint is given"),
    ("device", "auto", "auto | cpu | cuda | cuda:N"),
    ("precision", "fp32", "fp32 | fp16 | bf16 (CUDA only)"),
    ("transport", "raw", "raw | compressed"),
    ("calibration_file", "", "rig calibration YAML; empty: identity homography"),
    ("image_reliability", "best_effort", "best_effort | reliable (match your camera driver)"),
    ("publish_debug_image", "true", "publish debug_image for rviz2"),
]


def generate_launch_description() -> LaunchDescription:
    arguments = [
        DeclareLaunchArgument(name, default_value=default, description=text) for name, default, text in NODE_ARGUMENTS
    ]
    arguments += [
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node and its topics"),
        DeclareLaunchArgument("rgb_topic", default_value="/camera/color/image_raw", description="RGB image topic"),
        DeclareLaunchArgument("aux_topic", default_value="/thermal/image_raw", description="X image topic"),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="use /clock (bag replay)"),
        DeclareLaunchArgument("launch_rviz", default_value="false", description="also start rviz2"),
    ]
    parameters = {name: LaunchConfiguration(name) for name, _, _ in NODE_ARGUMENTS}
    parameters["use_sim_time"] = LaunchConfiguration("use_sim_time")
    tracker = Node(
        package="mm_tracker",
        executable="mm_tracker_node",
        name="mm_tracker",
        namespace=LaunchConfiguration("namespace"),
        parameters=[parameters],
        remappings=[("rgb/image", LaunchConfiguration("rgb_topic")), ("aux/image", LaunchConfiguration("aux_topic"))],
        output="screen",
    )
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        arguments=["-d", PathJoinSubstitution([FindPackageShare("mm_tracker"), "rviz", "mm_tracker.rviz"])],
        parameters=[{"use_sim_time": LaunchConfiguration("use_sim_time")}],
        condition=IfCondition(LaunchConfiguration("launch_rviz")),
    )
    return LaunchDescription([*arguments, tracker, rviz])
