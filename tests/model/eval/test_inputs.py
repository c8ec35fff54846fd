import pytest

from mm_tracker_model.bags.write import write_bag
from mm_tracker_model.data.synthetic import SynthConfig, read_synthetic, write_sequence
from mm_tracker_model.eval.inputs import EvalInput


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    # Frames large enough that the MCAP writer closes several chunks (a cut can only keep whole chunks).
    cfg = SynthConfig(frames=9, rgb_size=(320, 240), x_size=(256, 208), seed=3)
    return write_sequence(tmp_path_factory.mktemp("synth"), cfg, 0)


def cut_bag(folder, out):
    bag = write_bag(read_synthetic(folder), out)
    (mcap,) = bag.glob("*.mcap")
    with open(mcap, "r+b") as handle:
        handle.truncate(int(mcap.stat().st_size * 0.6))
    return bag


def test_a_sequence_and_a_whole_bag_give_the_same_streams_without_damage(folder, tmp_path):
    from_sequence = EvalInput(folder, "synthetic").messages()
    from_bag = EvalInput(write_bag(read_synthetic(folder), tmp_path / "bag")).messages()
    names = [name for name, _ in from_sequence]
    assert names == [name for name, _ in from_bag] and set(names) == {"rgb", "aux", "gt_target", "gt_alignment"}
    assert from_sequence.damage is None and from_bag.damage is None


def test_a_cut_bag_gives_its_readable_messages_then_the_damage(folder, tmp_path):
    messages = EvalInput(cut_bag(folder, tmp_path / "bag")).messages()
    names = [name for name, _ in messages]
    assert 0 < names.count("rgb") < 9
    assert messages.damage.read == len(names) and str(messages.damage).startswith(f"message #{len(names)} ")
