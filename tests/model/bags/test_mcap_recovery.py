"""MCAP files cut before their summary, read through bags.read by the recovery back-end."""

import os

import pytest

from mm_tracker_model.bags.mcap_recovery import McapDamage, McapRecovery
from mm_tracker_model.bags.read import iter_messages, open_bag, read_topics


@pytest.mark.parametrize("fraction", [0.02, 0.3, 0.6, 0.95])
def test_truncated_mcap_yields_the_whole_messages_then_names_the_cut_one(tmp_path, fraction, string_bags):
    written = string_bags.write(tmp_path / "bag", n=40)  # ~250 kB: one chunk, cut inside it
    string_bags.cut(tmp_path / "bag", fraction)
    info = open_bag(tmp_path / "bag", ["/not/checked"])  # without an index the topics are unknown until read
    assert not info.indexed and info.topics == {}
    got, messages = string_bags.read_raw(tmp_path / "bag")
    assert got == written[: len(got)] and len(got) >= int(len(written) * fraction) - 2
    assert messages.topics == {"/note": string_bags.msgtype, "/count": string_bags.msgtype}
    damage = messages.damage
    assert messages.count == damage.read == len(got) and damage.topic == written[len(got)][0]
    assert str(damage).startswith(f"message #{len(got)} (topic {damage.topic}): ") and "truncated" in damage.reason
    # The same cut through the deserialising layer, with a topic filter: the count is of what was yielded.
    messages = iter_messages(tmp_path / "bag", ["/count"])
    counts = [msg.data for _, _, msg in messages]
    assert counts == [str(4 * i) for i in range(len(counts))] and messages.damage.read == len(counts)


def test_truncated_mcap_keeps_its_complete_chunks(tmp_path, string_bags):
    written = string_bags.write(tmp_path / "bag", n=12, size=200_000)  # 400 kB messages: chunks close every 1 MiB
    string_bags.cut(tmp_path / "bag", 0.6)
    got, messages = string_bags.read_raw(tmp_path / "bag", ["/note"])
    notes = [m for m in written if m[0] == "/note"]
    assert got == notes[: len(got)] and 5 <= len(got) <= 8
    assert str(messages.damage).startswith(f"message #{len(got)} (topic /note): bag.mcap: truncated chunk")


def test_truncated_zstd_mcap_keeps_the_complete_chunks_and_reports_the_cut_one(tmp_path, string_bags):
    written = string_bags.write(tmp_path / "bag", n=12, size=200_000, zstd=True)  # hex: ~2:1, so several chunks
    assert string_bags.read_raw(tmp_path / "bag")[0] == written  # indexed
    string_bags.cut(tmp_path / "bag", 0.6)
    got, messages = string_bags.read_raw(tmp_path / "bag")
    assert not messages.indexed and 1 <= len(got) < len(written) and got == written[: len(got)]
    assert str(messages.damage) == f"message #{len(got)} (topic unknown): bag.mcap: truncated zstd chunk"


@pytest.mark.parametrize("compression", ["NONE", "ZSTD", "LZ4"])
def test_mcap_chunks_compressed_either_way_are_read_without_the_index(tmp_path, compression, string_bags):
    from mcap.writer import CompressionType
    from mcap.writer import Writer as McapWriter

    path, t0, msgtype = tmp_path / "cut.mcap", string_bags.t0, string_bags.msgtype
    with open(path, "wb") as handle:
        writer = McapWriter(handle, chunk_size=4000, compression=CompressionType[compression])
        writer.start("ros2", "test")
        channel = writer.register_channel("/s", "cdr", writer.register_schema(msgtype, "ros2msg", b"string data"))
        for i in range(60):
            writer.add_message(
                channel, log_time=t0 + i, publish_time=t0 + i, data=string_bags.serialise(f"{i:03d}" * 100)
            )
        writer.finish()
    os.truncate(path, int(path.stat().st_size * 0.5))
    assert not open_bag(path).indexed  # a lone .mcap file
    messages = iter_messages(path)
    texts = [msg.data for _, _, msg in messages]
    assert 10 <= len(texts) < 60 and texts == [f"{i:03d}" * 100 for i in range(len(texts))]
    assert "truncated" in messages.damage.reason


def test_a_missing_decompressor_is_reported_not_raised(tmp_path, monkeypatch, string_bags):
    import mcap.stream_reader

    string_bags.write(tmp_path / "bag", n=12, size=200_000, zstd=True)
    string_bags.cut(tmp_path / "bag", 0.6)
    monkeypatch.setattr(mcap.stream_reader, "zstandard", None)
    got, messages = string_bags.read_raw(tmp_path / "bag")
    assert got == [] and messages.damage.read == 0
    assert "cannot decompress a zstd chunk: the Python package 'zstandard' is missing" in messages.damage.reason


def test_the_back_end_raises_its_damage_with_the_cut_messages_topic(tmp_path, string_bags):
    string_bags.write(tmp_path / "bag", n=40)
    string_bags.cut(tmp_path / "bag", 0.5)
    recovery = McapRecovery.of(tmp_path / "bag")
    got = []
    with pytest.raises(McapDamage) as info:
        got.extend(recovery.messages({"/count"}))
    assert got and all(m.topic == "/count" for m in got)
    assert info.value.reason.startswith("bag.mcap: truncated") and info.value.topic in ("/note", "/count")
    assert recovery.topics == {"/note": string_bags.msgtype, "/count": string_bags.msgtype}
    assert recovery.deserialize(got[0].data, got[0].msgtype).data == "0"
    assert McapRecovery.of(tmp_path / "elsewhere") is None  # no MCAP files: not for recovery


def test_read_topics_without_an_index_stops_once_the_awaited_ones_are_met(tmp_path, string_bags):
    string_bags.write(tmp_path / "bag", n=40)
    string_bags.cut(tmp_path / "bag", 0.6)
    both = {"/note": string_bags.msgtype, "/count": string_bags.msgtype}
    assert read_topics(tmp_path / "bag", ["/count"]) == both  # channels are declared before the first message
    assert read_topics(tmp_path / "bag", ["/never"]) == both  # to the cut, quietly
    assert read_topics(tmp_path / "bag") == both
