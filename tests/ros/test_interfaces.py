from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_box2d_has_float64_pixel_fields():
    from mm_tracker_msgs.msg import Box2D

    assert Box2D.get_fields_and_field_types() == {
        "x": "double",
        "y": "double",
        "width": "double",
        "height": "double",
    }


def test_box2d_round_trips_through_cdr():
    from rclpy.serialization import deserialize_message, serialize_message

    from mm_tracker_msgs.msg import Box2D

    box = Box2D(x=10.5, y=-2.0, width=30.25, height=40.0)
    assert deserialize_message(serialize_message(box), Box2D) == box


def test_both_packages_are_registered_in_the_ament_index():
    index = REPO / "ros2_ws" / "install"
    for package in ("mm_tracker", "mm_tracker_msgs"):
        assert (index / package / "share" / "ament_index" / "resource_index" / "packages" / package).is_file()


def test_mm_tracker_is_imported_through_the_symlinked_colcon_build():
    """--symlink-install: the package on the path resolves to the sources, so edits need no rebuild."""
    import mm_tracker

    assert str(REPO / "ros2_ws") in mm_tracker.__file__
    assert Path(mm_tracker.__file__).resolve() == REPO / "ros2_ws" / "src" / "mm_tracker" / "mm_tracker" / "__init__.py"
