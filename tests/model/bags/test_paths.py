import pytest

from mm_tracker_model.bags.paths import check_bag_path, mcap_files
from mm_tracker_model.errors import BagError


def test_check_bag_path_rejects_missing_and_non_bag_paths(tmp_path, string_bags):
    with pytest.raises(BagError, match="no such bag"):
        check_bag_path(tmp_path / "missing")
    with pytest.raises(BagError, match=r"not a rosbag2 bag \(no metadata.yaml"):
        check_bag_path(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(BagError, match=r"not a rosbag2 bag \(expected a bag directory"):
        check_bag_path(tmp_path / "notes.txt")
    (tmp_path / "old.bag").write_bytes(b"#ROSBAG V2.0\n")
    with pytest.raises(BagError, match="ROS 1"):
        check_bag_path(tmp_path / "old.bag")
    (tmp_path / "fake.mcap").write_bytes(b"not an mcap at all")
    check_bag_path(tmp_path / "fake.mcap")  # looks like one: opening it tells
    string_bags.write(tmp_path / "bag", n=1)
    check_bag_path(tmp_path / "bag")


def test_mcap_files_come_in_split_order(tmp_path):
    for name in ("bag_10.mcap", "bag_2.mcap", "bag_0.mcap", "metadata.yaml"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in mcap_files(tmp_path)] == ["bag_0.mcap", "bag_2.mcap", "bag_10.mcap"]
    assert mcap_files(tmp_path / "bag_2.mcap") == [tmp_path / "bag_2.mcap"]
    assert mcap_files(tmp_path / "metadata.yaml") == [] and mcap_files(tmp_path / "missing.mcap") == []
