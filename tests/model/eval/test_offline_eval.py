"""Offline evaluation with the packaged default model: the tracker follows a generated sequence."""

import numpy as np
import pytest

from mm_tracker_model.bags.write import BagOptions
from mm_tracker_model.data.synthetic import SynthConfig, write_sequence
from mm_tracker_model.eval.driver import EvalJob, evaluate_one
from mm_tracker_model.eval.inputs import EvalInput
from mm_tracker_model.eval.report import summarise
from mm_tracker_model.weights import default_checkpoint

pytestmark = pytest.mark.skipif(default_checkpoint() is None, reason="no default model in model/weights/")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_sequence(tmp_path_factory.mktemp("synth"), SynthConfig(frames=40, seed=11), 0)


def test_default_model_follows_the_target_and_the_rig(folder, tmp_path):
    item = EvalInput(folder, "synthetic", bag=BagOptions(aux_every=3))
    run = evaluate_one(item, EvalJob(run_dir=tmp_path, video=False))
    summary = summarise([run])
    overall = summary["overall"]
    assert len(run.outputs) == 40 and overall["drops"] == 0
    assert overall["pr"] > 0.7 and overall["sr"] > 0.4, overall
    assert overall["align_corner_err_px"] < 15, overall
    assert set(summary["experts"]) == {"stage_1", "stage_2", "stage_3"}


def test_offline_runs_are_deterministic_and_prefetching_changes_nothing(folder, tmp_path):
    from mm_tracker_model.eval.offline import OfflineConfig

    job = EvalJob(run_dir=tmp_path, video=False)
    first = evaluate_one(EvalInput(folder, "synthetic"), job).predictions()
    second = evaluate_one(EvalInput(folder, "synthetic"), job).predictions()
    inline = EvalJob(run_dir=tmp_path, video=False, offline=OfflineConfig(prefetch_messages=0))
    third = evaluate_one(EvalInput(folder, "synthetic"), inline).predictions()
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, third)


def test_initialisation_waits_for_the_first_pair_with_an_x_frame(folder, tmp_path):
    from mm_tracker_model.bags.write import sequence_messages
    from mm_tracker_model.data.synthetic import read_synthetic
    from mm_tracker_model.eval.driver import _net
    from mm_tracker_model.eval.offline import OfflineConfig, run_offline
    from mm_tracker_model.eval.runs import SequenceRun

    messages = [(n, m) for n, _, m in sequence_messages(read_synthetic(folder)) if n != "aux_info"]
    auxes = [i for i, (n, _) in enumerate(messages) if n == "aux"]
    # The thermal camera starts 3 frames (100 ms) late: RGB frames 0 and 1 have no X within the 50 ms slop.
    messages = [m for i, m in enumerate(messages) if i not in auxes[:3]]
    run = run_offline(_net(default_checkpoint()), messages[:60], SequenceRun("s", "thermal"), OfflineConfig())
    assert run.drops["init_waiting_for_aux"] == 2
    assert [s in run.outputs for s in run.rgb_stamps[:3]] == [False, False, True]
