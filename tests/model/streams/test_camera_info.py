from mm_tracker_model.streams.camera_info import CameraInfoState, camera_info_problems


def test_nothing_to_check_before_camera_info_arrives():
    assert camera_info_problems(CameraInfoState(), (640, 480), (320, 240)) == []


def test_size_disagreements_are_named():
    info = CameraInfoState(640, 480, "rgb_camera")
    assert camera_info_problems(info, (640, 480), (640, 480)) == []
    names = [name for name, _ in camera_info_problems(info, (320, 240), (640, 512))]
    assert names == ["camera_info_image_size", "camera_info_calibration_size"]
    assert camera_info_problems(info, (640, 480), None) == []
