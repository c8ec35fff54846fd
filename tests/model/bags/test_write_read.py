import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer

from mm_tracker_model.bags.read import BagError, BagScan, iter_messages, iter_raw, open_scan, stream
from mm_tracker_model.bags.typestore import bag_typestore
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


# ---- raw messages, and MCAP files without their index ----------------------------------------------------------

T0 = 1_700_000_000_000_000_000
STRING = "std_msgs/msg/String"


def write_raw_bag(path: Path, n: int = 40, size: int = 3000, storage=StoragePlugin.MCAP, zstd=False) -> list:
    """/note (hex strings of 2 x `size` chars) and a short /count after every 4th; (topic, t, data) as written."""
    store = bag_typestore()
    rng = np.random.default_rng(0)
    writer = Writer(path, version=9, storage_plugin=storage)
    if zstd:
        writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
    written = []
    with writer:
        note = writer.add_connection("/note", STRING, typestore=store)
        count = writer.add_connection("/count", STRING, typestore=store)
        for i in range(n):
            for connection, t, text in [(note, T0 + i * 10, rng.bytes(size).hex()), (count, T0 + i * 10 + 1, str(i))]:
                if connection is note or i % 4 == 0:
                    data = bytes(store.serialize_cdr(store.types[STRING](data=text), STRING))
                    writer.write(connection, t, data)
                    written.append((connection.topic, t, data))
    return written


def truncate(bag: Path, fraction: float) -> None:
    (mcap,) = bag.glob("*.mcap")
    os.truncate(mcap, int(mcap.stat().st_size * fraction))


def raw(path: Path, topics=None, scan: BagScan | None = None) -> list[tuple[str, int, bytes]]:
    return [(m.topic, m.log_time, m.data) for m in iter_raw(path, topics, scan or BagScan({}, {}))]


@pytest.mark.parametrize("storage", [StoragePlugin.MCAP, StoragePlugin.SQLITE3])
def test_iter_raw_gives_the_stored_bytes_in_log_time_order(tmp_path, storage):
    written = write_raw_bag(tmp_path / "bag", n=9, storage=storage)
    scan = open_scan(tmp_path / "bag")
    assert scan.indexed and scan.topics == {"/note": STRING, "/count": STRING}
    assert raw(tmp_path / "bag", None, scan) == written and scan.messages == len(written) and scan.error is None
    assert raw(tmp_path / "bag", ["/count"]) == [m for m in written if m[0] == "/count"]
    assert raw(tmp_path / "bag", []) == [] and raw(tmp_path / "bag", ["/elsewhere"]) == []
    assert {m.msgtype for m in iter_raw(tmp_path / "bag", None, BagScan({}, {}))} == {STRING}


@pytest.mark.parametrize("fraction", [0.02, 0.3, 0.6, 0.95])
def test_truncated_mcap_yields_the_whole_messages_then_names_the_cut_one(tmp_path, fraction):
    written = write_raw_bag(tmp_path / "bag", n=40)  # ~250 kB: one chunk, cut inside it
    truncate(tmp_path / "bag", fraction)
    scan = open_scan(tmp_path / "bag")
    assert not scan.indexed and scan.topics == {}  # topics appear as the file is read
    got = raw(tmp_path / "bag", None, scan)
    assert got == written[: len(got)] and len(got) >= int(len(written) * fraction) - 2
    assert scan.topics == {"/note": STRING, "/count": STRING} and scan.messages == len(got)
    assert scan.error.startswith(f"message #{len(got)} (topic {written[len(got)][0]}): ") and "truncated" in scan.error
    # The same cut through the deserialising layer, with a topic filter: the index counts what was yielded.
    scan = BagScan({}, {})
    counts = [msg.data for topic, _, msg in iter_messages(tmp_path / "bag", ["/count"], scan)]
    assert counts == [str(4 * i) for i in range(len(counts))] and scan.messages == len(counts)
    assert scan.error.startswith(f"message #{len(counts)} (topic ")


def test_truncated_mcap_keeps_its_complete_chunks(tmp_path):
    written = write_raw_bag(tmp_path / "bag", n=12, size=200_000)  # 400 kB messages: chunks close every 1 MiB
    truncate(tmp_path / "bag", 0.6)
    scan = BagScan({}, {})
    got = raw(tmp_path / "bag", ["/note"], scan)
    notes = [m for m in written if m[0] == "/note"]
    assert got == notes[: len(got)] and 5 <= len(got) <= 8
    assert scan.error.startswith(f"message #{len(got)} (topic /note): bag.mcap: truncated chunk")


def test_truncated_zstd_mcap_keeps_the_complete_chunks_and_reports_the_cut_one(tmp_path):
    written = write_raw_bag(tmp_path / "bag", n=12, size=200_000, zstd=True)  # hex: ~2:1, so several chunks
    assert raw(tmp_path / "bag") == written  # indexed
    truncate(tmp_path / "bag", 0.6)
    scan = open_scan(tmp_path / "bag")
    got = raw(tmp_path / "bag", None, scan)
    assert not scan.indexed and 1 <= len(got) < len(written) and got == written[: len(got)]
    assert scan.error == f"message #{len(got)} (topic unknown): bag.mcap: truncated zstd chunk"


@pytest.mark.parametrize("compression", ["NONE", "ZSTD", "LZ4"])
def test_mcap_chunks_compressed_either_way_are_read_without_the_index(tmp_path, compression):
    from mcap.writer import CompressionType
    from mcap.writer import Writer as McapWriter

    store, path = bag_typestore(), tmp_path / "cut.mcap"
    with open(path, "wb") as handle:
        writer = McapWriter(handle, chunk_size=4000, compression=CompressionType[compression])
        writer.start("ros2", "test")
        channel = writer.register_channel("/s", "cdr", writer.register_schema(STRING, "ros2msg", b"string data"))
        for i in range(60):
            data = bytes(store.serialize_cdr(store.types[STRING](data=f"{i:03d}" * 100), STRING))
            writer.add_message(channel, log_time=T0 + i, publish_time=T0 + i, data=data)
        writer.finish()
    os.truncate(path, int(path.stat().st_size * 0.5))
    scan = open_scan(path)  # a lone .mcap file
    texts = [msg.data for _, _, msg in iter_messages(path, None, scan)]
    assert not scan.indexed and 10 <= len(texts) < 60 and texts == [f"{i:03d}" * 100 for i in range(len(texts))]
    assert "truncated" in scan.error


def test_a_missing_decompressor_is_reported_not_raised(tmp_path, monkeypatch):
    import mcap.stream_reader

    write_raw_bag(tmp_path / "bag", n=12, size=200_000, zstd=True)
    truncate(tmp_path / "bag", 0.6)
    monkeypatch.setattr(mcap.stream_reader, "zstandard", None)
    scan = BagScan({}, {})
    assert raw(tmp_path / "bag", None, scan) == []
    assert "cannot decompress a zstd chunk: the Python package 'zstandard' is missing" in scan.error


def test_a_message_that_does_not_deserialise_ends_the_stream(tmp_path):
    store, path = bag_typestore(), tmp_path / "bag"
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection("/s", STRING, typestore=store)
        writer.write(connection, T0, bytes(store.serialize_cdr(store.types[STRING](data="ok"), STRING)))
        writer.write(connection, T0 + 1, b"\x00\x01\x00\x00\xff\xff\xff\x7f")  # a 2 GB string in 8 bytes
        writer.write(connection, T0 + 2, bytes(store.serialize_cdr(store.types[STRING](data="late"), STRING)))
    scan = BagScan({}, {})
    assert [msg.data for _, _, msg in iter_messages(path, None, scan)] == ["ok"]
    assert scan.messages == 1 and scan.error.startswith("message #1 (topic /s): ")
    assert len(raw(path)) == 3  # the raw layer does not look inside


def test_files_that_are_not_bags_are_refused(tmp_path):
    (tmp_path / "fake.mcap").write_bytes(b"not an mcap at all")
    with pytest.raises(BagError, match=r"fake\.mcap is not an MCAP file"):
        open_scan(tmp_path / "fake.mcap")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BagError, match="cannot open bag"):
        raw(tmp_path / "empty")
