"""Start the mm_tracker node on a robot: `ros2 launch mm_tracker tracker.launch.py rgb_topic:=... aux_topic:=...`.

Every node parameter default lives in the node (mm_tracker/parameters.py); this file only forwards the
arguments a user sets. The node is a launch_ros LifecycleNode, so other launch files (replay.launch.py) can act on
its state transitions; it configures and activates itself (autostart). When it exits, the launch ends; when it
fails (e.g. configure rejects a parameter: exit code 2), `ros2 launch` exits 1. Requires a full ROS 2 install
(launch, launch_ros; rviz2 only with launch_rviz:=true).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetLaunchConfiguration
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.substitutions import FindPackageShare

from mm_tracker.launch_support import box_argument, end_launch_on_exit

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
    ("initial_box", "[0.0]", "[x, y, w, h] in RGB pixels to track from the first frame; [0]: wait for init_target"),
    ("publish_debug_image", "true", "publish debug_image for rviz2"),
    ("publish_detections", "false", "also publish detections (vision_msgs/Detection2DArray; needs vision_msgs)"),
]


def _normalise_initial_box(context):
    return [SetLaunchConfiguration("initial_box", box_argument(LaunchConfiguration("initial_box").perform(context)))]


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
    tracker = LifecycleNode(
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
    # rviz first: a missing rviz2 aborts the launch before the node starts, instead of leaving it running orphaned.
    return LaunchDescription(
        [
            *arguments,
            OpaqueFunction(function=_normalise_initial_box),
            rviz,
            tracker,
            end_launch_on_exit(tracker, "mm_tracker node", end_on_success=True),
        ]
    )
