import pickle
import shutil
from collections import defaultdict

import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer

from mm_tracker_model.bags.read import iter_messages, iter_raw, open_bag, read_topics
from mm_tracker_model.bags.typestore import bag_typestore
from mm_tracker_model.bags.write import BagOptions, write_bag
from mm_tracker_model.data.synthetic import SynthConfig, read_synthetic, write_sequence
from mm_tracker_model.errors import BagDamagedError, BagError, MMTrackerError
from mm_tracker_model.streams.image_msgs import image_to_array


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    cfg = SynthConfig(frames=9, rgb_size=(96, 72), x_size=(80, 64), seed=3)
    return read_synthetic(write_sequence(tmp_path_factory.mktemp("synth"), cfg, 0))


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_bag_round_trips_images_and_ground_truth(sequence, tmp_path, storage):
    bag = write_bag(sequence, tmp_path / "bag", BagOptions(rate_hz=30.0, aux_every=3, storage=storage))
    info = open_bag(bag, ["/rgb/image", "/ground_truth/target"])
    assert info.indexed and info.meta["sequence"] == sequence.name and info.meta["modality"] == "thermal"
    assert info.topics["/rgb/camera_info"] == "sensor_msgs/msg/CameraInfo" and "/aux/camera_info" in info.topics
    got = defaultdict(list)
    messages = iter_messages(bag, ["/rgb/image", "/aux/image", "/ground_truth/target", "/ground_truth/alignment"])
    for topic, t, msg in messages:
        got[topic].append((t, msg))
    assert messages.damage is None and messages.count == 9 + 3 + 9 + 9
    assert [len(got[t]) for t in ("/rgb/image", "/aux/image", "/ground_truth/target")] == [9, 3, 9]
    stamps = [t for t, _ in got["/rgb/image"]]
    assert np.allclose(np.diff(stamps), 1e9 / 30, atol=1)  # 30 Hz, log time = header stamp
    np.testing.assert_array_equal(image_to_array(got["/rgb/image"][4][1]), sequence.load_rgb(4))
    np.testing.assert_array_equal(image_to_array(got["/aux/image"][1][1]), sequence.load_aux(3))
    box = got["/ground_truth/target"][5][1].box
    np.testing.assert_allclose([box.x, box.y, box.width, box.height], sequence.boxes_rgb[5])
    homography = got["/ground_truth/alignment"][7][1].homography
    np.testing.assert_allclose(np.reshape(homography, (3, 3)), sequence.homographies[7])


def test_missing_topics_are_listed(sequence, tmp_path):
    bag = write_bag(sequence, tmp_path / "bag")
    with pytest.raises(BagError, match=r"lacks /camera/left.*it has: .*/rgb/image \(sensor_msgs/msg/Image\)"):
        open_bag(bag, ["/camera/left"])


def test_truncated_bag_keeps_what_is_readable_and_names_the_bad_message(tmp_path):
    # Frames large enough that the MCAP writer closes several chunks (a cut can only keep whole chunks).
    cfg = SynthConfig(frames=9, rgb_size=(320, 240), x_size=(256, 208), seed=3)
    bag = write_bag(read_synthetic(write_sequence(tmp_path / "synth", cfg, 0)), tmp_path / "bag")
    (mcap,) = bag.glob("*.mcap")
    with open(mcap, "r+b") as handle:
        handle.truncate(int(mcap.stat().st_size * 0.6))
    messages = iter_messages(bag, ["/rgb/image"])
    rgb = [m for topic, _, m in messages if topic == "/rgb/image"]
    assert 0 < len(rgb) < 9
    assert isinstance(messages.damage, BagDamagedError) and messages.damage.read == len(rgb) == messages.count
    assert str(messages.damage).startswith(f"message #{len(rgb)} (topic ")


def test_unreadable_and_existing_paths_are_refused(sequence, tmp_path):
    with pytest.raises(BagError, match="does not exist"):
        open_bag(tmp_path / "nothing")
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "metadata.yaml").write_text("not: a bag")
    with pytest.raises(BagError, match="cannot open bag"):
        open_bag(garbage)
    with pytest.raises(BagError, match="cannot open bag"):
        iter_messages(garbage)  # on creation, not on the first message
    with pytest.raises(MMTrackerError, match="exists"):
        write_bag(sequence, garbage)
    shutil.rmtree(garbage)


@pytest.mark.parametrize("storage", [StoragePlugin.MCAP, StoragePlugin.SQLITE3])
def test_iter_raw_gives_the_stored_bytes_in_log_time_order(tmp_path, storage, string_bags):
    written = string_bags.write(tmp_path / "bag", n=9, storage=storage)
    info = open_bag(tmp_path / "bag")
    assert info.indexed and info.topics == {"/note": string_bags.msgtype, "/count": string_bags.msgtype}
    got, messages = string_bags.read_raw(tmp_path / "bag")
    assert got == written and messages.count == len(written) and messages.damage is None
    assert string_bags.read_raw(tmp_path / "bag", ["/count"])[0] == [m for m in written if m[0] == "/count"]
    assert string_bags.read_raw(tmp_path / "bag", [])[0] == []
    assert string_bags.read_raw(tmp_path / "bag", ["/elsewhere"])[0] == []
    assert {m.msgtype for m in iter_raw(tmp_path / "bag")} == {string_bags.msgtype}
    assert read_topics(tmp_path / "bag", ["/never"]) == info.topics  # from the index: nothing read


def test_leaving_a_stream_early_ends_it_without_damage(tmp_path, string_bags):
    written = string_bags.write(tmp_path / "bag", n=9, storage=StoragePlugin.SQLITE3)
    with iter_raw(tmp_path / "bag") as messages:
        first = next(messages)
    assert (first.topic, first.log_time, first.data) == written[0]
    assert list(messages) == [] and messages.count == 1 and messages.damage is None


def test_a_message_that_does_not_deserialise_ends_the_stream(tmp_path, string_bags):
    store, path, t0 = bag_typestore(), tmp_path / "bag", string_bags.t0
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection("/s", string_bags.msgtype, typestore=store)
        writer.write(connection, t0, string_bags.serialise("ok"))
        writer.write(connection, t0 + 1, b"\x00\x01\x00\x00\xff\xff\xff\x7f")  # a 2 GB string in 8 bytes
        writer.write(connection, t0 + 2, string_bags.serialise("late"))
    messages = iter_messages(path)
    assert [msg.data for _, _, msg in messages] == ["ok"]
    assert messages.count == 1 and (messages.damage.read, messages.damage.topic) == (1, "/s")
    assert str(messages.damage).startswith("message #1 (topic /s): ")
    assert len(string_bags.read_raw(path)[0]) == 3  # the raw layer does not look inside


def test_damage_is_a_bag_error_that_survives_pickling():
    damage = pickle.loads(pickle.dumps(BagDamagedError(7, None, "bag.mcap: truncated chunk")))
    assert isinstance(damage, BagError) and (damage.read, damage.topic) == (7, None)
    assert str(damage) == "message #7 (topic unknown): bag.mcap: truncated chunk"


def test_files_that_are_not_bags_are_refused(tmp_path):
    (tmp_path / "fake.mcap").write_bytes(b"not an mcap at all")
    with pytest.raises(BagError, match=r"fake\.mcap is not an MCAP file"):
        open_bag(tmp_path / "fake.mcap")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BagError, match="cannot open bag"):
        iter_raw(tmp_path / "empty")
