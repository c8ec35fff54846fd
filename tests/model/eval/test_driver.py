from pathlib import Path

import numpy as np

from mm_tracker_model.bags.write import write_bag
from mm_tracker_model.data.synthetic import SynthConfig, read_synthetic, write_sequence
from mm_tracker_model.eval import driver
from mm_tracker_model.eval.driver import EvalJob, evaluate_one
from mm_tracker_model.eval.inputs import EvalInput
from mm_tracker_model.eval.runs import FrameOutput


def perfect_tracker(net, messages, run, config):
    """run_offline's contract without a network: every RGB frame gets its ground-truth box."""
    for name, msg in messages:
        run.note_input(name, msg)
    for stamp in run.rgb_stamps:
        run.outputs[stamp] = FrameOutput(run.truth.boxes.get(stamp, np.full(4, np.nan)), 1.0, 1)
    return run


def test_a_damaged_input_bag_is_scored_on_what_was_read_and_the_damage_recorded(tmp_path, monkeypatch):
    cfg = SynthConfig(frames=9, rgb_size=(320, 240), x_size=(256, 208), seed=3)  # several MCAP chunks
    bag = write_bag(read_synthetic(write_sequence(tmp_path / "synth", cfg, 0)), tmp_path / "bag")
    (mcap,) = bag.glob("*.mcap")
    with open(mcap, "r+b") as handle:
        handle.truncate(int(mcap.stat().st_size * 0.6))
    monkeypatch.setattr(driver, "_net", lambda checkpoint: None)
    monkeypatch.setattr(driver, "run_offline", perfect_tracker)
    run = evaluate_one(EvalInput(bag), EvalJob(run_dir=tmp_path / "run", checkpoint=Path("unused"), video=False))
    assert 0 < len(run.rgb_stamps) < 9
    assert run.bag_error.startswith("input bag: message #") and "truncated" in run.bag_error
    assert run.score()["tracking"].scores["sr"] > 0.9
