import cv2
import numpy as np
import pytest
from rosbags.interfaces import Nodetype
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from mm_tracker.conversions import detection_fields, detections_msg
from mm_tracker_model.engine.tracker import TrackResult, TrackState
from mm_tracker_model.streams.image_msgs import (
    ImageConversionError,
    array_to_image_fields,
    aux_from_message,
    decode,
    rgb_from_message,
)


def test_compressed_colour_and_16_bit_png_decode():
    rgb = np.zeros((8, 10, 3), np.uint8)
    rgb[..., 0] = 200  # red
    _, png = cv2.imencode(".png", rgb[..., ::-1])
    msg = CompressedImage(format="png", data=png.tobytes())
    assert rgb_from_message(msg)[0, 0].tolist() == [200, 0, 0]
    depth = np.full((4, 4), 1500, np.uint16)
    _, png16 = cv2.imencode(".png", depth)
    array, encoding = decode(CompressedImage(format="png", data=png16.tobytes()))
    assert encoding == "16UC1" and array.dtype == np.uint16 and array[0, 0] == 1500


def test_undecodable_compressed_image_is_reported():
    with pytest.raises(ImageConversionError, match="could not be decoded"):
        decode(CompressedImage(format="jpeg", data=b"not a jpeg"))


def test_nan_depth_message_is_a_counted_degradation_not_an_error():
    depth = np.full((6, 8), np.nan, np.float32)
    msg = Image(header=Header(frame_id="depth"), **array_to_image_fields(depth, "32FC1"))
    image, degradations = aux_from_message(msg, "depth", None)
    assert image.shape == (6, 8, 3) and degradations == ["depth_all_invalid"]


def test_fixed_thermal_range_is_used_for_16_bit_thermal():
    counts = np.full((4, 4), 3000, np.uint16)
    msg = Image(**array_to_image_fields(counts, "16UC1"))
    image, _ = aux_from_message(msg, "thermal", (2000.0, 4000.0))
    assert image[0, 0, 0] == 128


# vision_msgs 4.x (Humble and later), the layout downstream consumers read; vision_msgs itself has no pip wheel.
VISION_MSGS_4 = {
    "vision_msgs/msg/Point2D": "float64 x\nfloat64 y\n",
    "vision_msgs/msg/Pose2D": "vision_msgs/Point2D position\nfloat64 theta\n",
    "vision_msgs/msg/BoundingBox2D": "vision_msgs/Pose2D center\nfloat64 size_x\nfloat64 size_y\n",
    "vision_msgs/msg/ObjectHypothesis": "string class_id\nfloat64 score\n",
    "vision_msgs/msg/ObjectHypothesisWithPose": (
        "vision_msgs/ObjectHypothesis hypothesis\ngeometry_msgs/PoseWithCovariance pose\n"
    ),
    "vision_msgs/msg/Detection2D": (
        "std_msgs/Header header\nvision_msgs/ObjectHypothesisWithPose[] results\nvision_msgs/BoundingBox2D bbox\n"
        "string id\n"
    ),
    "vision_msgs/msg/Detection2DArray": "std_msgs/Header header\nvision_msgs/Detection2D[] detections\n",
}
PYTHON_TYPES = {"string": str, "float64": float, "float32": float, "bool": bool}


def _result(state, box=(100.0, 50.0, 40.0, 20.0), score=0.8):
    return TrackResult(
        box=np.array(box),
        box_x=None,
        score=score,
        state=state,
        global_homography=np.eye(3),
        frame_homography=np.eye(3),
        stage_params=[],
        experts=[],
        confidence=1.0,
        tocu_updated=False,
        degraded=(),
    )


def _build(store, msgtype, values):
    """A rosbags message of `msgtype` from nested plain values: unknown fields and wrong types fail, missing ones
    are zero."""
    _, fields = store.fielddefs[msgtype]
    unknown = set(values) - {name for name, _ in fields}
    assert not unknown, f"{msgtype} has no field {unknown}"
    built = {}
    for name, (nodetype, spec) in fields:
        value = values.get(name)
        if nodetype == Nodetype.NAME:
            built[name] = _build(store, spec, value or {})
        elif nodetype == Nodetype.SEQUENCE and spec[0][0] == Nodetype.NAME:
            built[name] = [_build(store, spec[0][1], item) for item in value or []]
        elif nodetype == Nodetype.BASE:
            kind = PYTHON_TYPES.get(spec[0], int)
            assert value is None or type(value) is kind, f"{msgtype}.{name}: {value!r} is not {spec[0]}"
            built[name] = kind() if value is None else value
        else:  # fixed-size numeric arrays (the pose covariance)
            assert value is None, f"{msgtype}.{name} is not set by the conversion"
            built[name] = np.zeros(spec[1])
    return store.types[msgtype](**built)


def test_detection_fields_fill_the_vision_msgs_4_layout():
    store = get_typestore(Stores.ROS2_HUMBLE)
    for msgtype, text in VISION_MSGS_4.items():
        store.register(get_types_from_msg(text, msgtype))
    fields = detection_fields(_result(TrackState.TRACKING), track_id=3)
    array = _build(store, "vision_msgs/msg/Detection2DArray", {"detections": [fields]})
    cdr = store.serialize_cdr(array, "vision_msgs/msg/Detection2DArray")
    (detection,) = store.deserialize_cdr(cdr, "vision_msgs/msg/Detection2DArray").detections
    assert detection.id == "3"
    (result,) = detection.results
    assert (result.hypothesis.class_id, result.hypothesis.score) == ("target", 0.8)
    assert (detection.bbox.center.position.x, detection.bbox.center.position.y) == (120.0, 60.0)
    assert (detection.bbox.size_x, detection.bbox.size_y, detection.bbox.center.theta) == (40.0, 20.0, 0.0)


@pytest.mark.parametrize("state", [TrackState.LOST, TrackState.IDLE])
def test_a_target_not_tracked_is_no_detection(state):
    assert detection_fields(_result(state), track_id=1) is None


def test_detections_msg_builds_vision_msgs_where_installed():
    pytest.importorskip("vision_msgs", reason="vision_msgs has no pip wheel: only a system ROS 2 install has it")
    header = Header(frame_id="rgb_camera")
    header.stamp.sec = 1000
    msg = detections_msg(header, _result(TrackState.TRACKING), track_id=2)
    assert type(msg).__name__ == "Detection2DArray"
    assert msg.header.frame_id == "rgb_camera" and msg.header.stamp.sec == 1000
    (detection,) = msg.detections
    assert detection.id == "2" and detection.header.frame_id == "rgb_camera"
    assert detection.results[0].hypothesis.class_id == "target" and detection.results[0].hypothesis.score == 0.8
    assert (detection.bbox.center.position.x, detection.bbox.center.position.y) == (120.0, 60.0)
    assert (detection.bbox.size_x, detection.bbox.size_y) == (40.0, 20.0)
    assert detections_msg(header, _result(TrackState.LOST), track_id=2).detections == []
