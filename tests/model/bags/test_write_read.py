import shutil

import numpy as np
import pytest

from mm_tracker_model.bags.read import BagError, BagScan, iter_messages, open_scan, stream
from mm_tracker_model.bags.write import BagOptions, write_bag
from mm_tracker_model.data.synthetic import SynthConfig, read_synthetic, write_sequence
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.streams.image_msgs import image_to_array


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    cfg = SynthConfig(frames=9, rgb_size=(96, 72), x_size=(80, 64), seed=3)
    return read_synthetic(write_sequence(tmp_path_factory.mktemp("synth"), cfg, 0))


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_bag_round_trips_images_and_ground_truth(sequence, tmp_path, storage):
    bag = write_bag(sequence, tmp_path / "bag", BagOptions(rate_hz=30.0, aux_every=3, storage=storage))
    got: dict[str, list] = {"rgb": [], "aux": [], "gt": [], "h": []}
    scan = stream(
        bag,
        {
            "/rgb/image": lambda t, m: got["rgb"].append((t, m)),
            "/aux/image": lambda t, m: got["aux"].append((t, m)),
            "/ground_truth/target": lambda t, m: got["gt"].append(m),
            "/ground_truth/alignment": lambda t, m: got["h"].append(m),
        },
    )
    assert scan.error is None and scan.meta["sequence"] == sequence.name and scan.meta["modality"] == "thermal"
    assert "/rgb/camera_info" in scan.topics and "/aux/camera_info" in scan.topics
    assert len(got["rgb"]) == 9 and len(got["aux"]) == 3 and len(got["gt"]) == 9 and len(got["h"]) == 9
    stamps = [t for t, _ in got["rgb"]]
    assert np.allclose(np.diff(stamps), 1e9 / 30, atol=1)  # 30 Hz, log time = header stamp
    np.testing.assert_array_equal(image_to_array(got["rgb"][4][1]), sequence.load_rgb(4))
    np.testing.assert_array_equal(image_to_array(got["aux"][1][1]), sequence.load_aux(3))
    box = got["gt"][5].box
    np.testing.assert_allclose([box.x, box.y, box.width, box.height], sequence.boxes_rgb[5])
    np.testing.assert_allclose(np.reshape(got["h"][7].homography, (3, 3)), sequence.homographies[7])


def test_missing_topics_are_listed(sequence, tmp_path):
    bag = write_bag(sequence, tmp_path / "bag")
    with pytest.raises(BagError, match=r"lacks /camera/left.*it has: .*/rgb/image \(sensor_msgs/msg/Image\)"):
        open_scan(bag, ["/camera/left"])


def test_truncated_bag_keeps_what_is_readable_and_names_the_bad_message(tmp_path):
    # Frames large enough that the MCAP writer closes several chunks (a cut can only keep whole chunks).
    cfg = SynthConfig(frames=9, rgb_size=(320, 240), x_size=(256, 208), seed=3)
    bag = write_bag(read_synthetic(write_sequence(tmp_path / "synth", cfg, 0)), tmp_path / "bag")
    (mcap,) = bag.glob("*.mcap")
    with open(mcap, "r+b") as handle:
        handle.truncate(int(mcap.stat().st_size * 0.6))
    scan = BagScan({}, {})
    rgb = [m for topic, _, m in iter_messages(bag, ["/rgb/image"], scan) if topic == "/rgb/image"]
    assert 0 < len(rgb) < 9
    assert scan.error and "message" in scan.error


def test_unreadable_and_existing_paths_are_refused(sequence, tmp_path):
    with pytest.raises(BagError, match="does not exist"):
        open_scan(tmp_path / "nothing")
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "metadata.yaml").write_text("not: a bag")
    with pytest.raises(BagError, match="cannot open bag"):
        open_scan(garbage)
    with pytest.raises(MMTrackerError, match="exists"):
        write_bag(sequence, garbage)
    shutil.rmtree(garbage)
