from pathlib import Path

import numpy as np
import pytest

from mm_tracker_model.eval.toolkits import (
    MetricsInputError,
    MissingResultError,
    evaluate_folders,
    find_result_file,
    ground_truth_files,
    match_result_files,
    pool,
    score_sequence,
)

REFERENCE = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "metrics"
needs_reference = pytest.mark.skipif(
    not REFERENCE.is_dir(), reason="../shared/reference/metrics is not beside this checkout"
)

BOX = [10.0, 10.0, 20.0, 20.0]


def shifted(dx: float, dy: float = 0.0, box=BOX) -> list[float]:
    return [box[0] + dx, box[1] + dy, box[2], box[3]]


def write(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(",".join(f"{v:g}" for v in row) + "\n" for row in rows))
    return path


def test_gtot_precision_is_strict_at_5_px():
    gt = np.array([BOX] * 3)
    exactly_five = score_sequence("gtot", np.array([shifted(5), shifted(3, 4), shifted(0, -5)]), gt)
    just_inside = score_sequence("gtot", np.array([shifted(4.5), shifted(0, 4.5), shifted(-4.5)]), gt)
    assert exactly_five.scores["pr"] == 0.0
    assert just_inside.scores["pr"] == 1.0


def test_gtot_pools_frames_over_the_dataset():
    long_good = score_sequence("gtot", np.array([BOX] * 4), np.array([BOX] * 4))
    short_bad = score_sequence("gtot", np.array([shifted(30)]), np.array([BOX]))
    result = pool("gtot", {"long": long_good, "short": short_bad})
    assert result.overall["pr"] == pytest.approx(4 / 5)  # the per-sequence mean would be 0.5
    assert set(result.overall) == {"pr", "sr"}


def test_gtot_reads_corner_ground_truth_without_plus_one_and_integrates_by_trapezoid(tmp_path):
    # x1 y1 x2 y2 = 10 10 30 50 is w = 20, h = 40; a +1 width would make the exact prediction overlap < 1
    write(tmp_path / "gt" / "seq" / "groundTruth_v.txt", [[10, 10, 30, 50]] * 2)
    write(tmp_path / "res" / "seq.txt", [[10, 10, 20, 40]] * 2)
    result = evaluate_folders("gtot", tmp_path / "gt", tmp_path / "res")
    # IoU 1 passes the 50 thresholds below 1 and fails "> 1": trapezoid area 49 * 0.02 + 0.01
    assert result.overall["sr"] == pytest.approx(0.99)
    assert result.overall["pr"] == 1.0


def test_lasher_invalid_ground_truth_is_a_precision_hit_and_a_success_miss():
    gt = np.array([BOX, [0.0, 12, 20, 20]])  # x = 0: "invalid" for the LasHeR toolkit
    pred = np.array([BOX, shifted(200)])
    scores = score_sequence("lasher", pred, gt).scores
    assert scores["pr"] == 1.0 and scores["npr"] == 1.0
    assert scores["sr"] == pytest.approx(0.5 * 20 / 21)


def test_pytracking_invalid_ground_truth_is_a_miss_for_pr_and_sr_and_a_hit_for_npr():
    gt = np.array([BOX, [0.0, 0, 0, 0]])
    pred = np.array([BOX, shifted(200)])
    pytracking = score_sequence("pytracking", pred, gt).scores
    assert pytracking == pytest.approx({"pr": 0.5, "npr": 1.0, "sr": 0.5 * 20 / 21})
    assert score_sequence("lasher", pred, gt).scores["pr"] == 1.0


def test_pytracking_counts_frames_missing_from_the_results_as_misses():
    result = score_sequence("pytracking", np.array([BOX, BOX]), np.array([BOX] * 4))
    assert result.frames == 4 and result.scores["pr"] == 0.5 and result.scores["npr"] == 0.5


def test_visevent_absent_frames_are_misses_that_stay_in_the_denominator():
    gt = np.array([BOX] * 3)
    pred = np.array([BOX] * 3)
    visevent = score_sequence("visevent", pred, gt, absent=np.array([False, True, False]))
    assert visevent.frames == 3
    assert visevent.scores["pr"] == pytest.approx(2 / 3) and visevent.scores["npr"] == pytest.approx(2 / 3)
    assert visevent.scores["sr"] == pytest.approx(2 / 3 * 20 / 21)
    assert score_sequence("lasher", pred, gt).scores["pr"] == 1.0


def test_visevent_without_flags_takes_empty_ground_truth_rows_as_absent():
    gt = np.array([BOX, [0.0, 0, 0, 0]])
    assert score_sequence("visevent", np.array([BOX, BOX]), gt).scores["pr"] == 0.5


def test_rgbt234_takes_the_best_of_both_ground_truths_over_the_common_length_without_frame_0_replacement():
    visible = np.array([BOX, BOX, BOX])
    infrared = np.array([BOX, shifted(60), shifted(60), shifted(60)])
    pred = np.array([shifted(100), shifted(60), BOX, BOX, BOX])  # frame 0 wrong: stays wrong
    result = score_sequence("rgbt234", pred, [visible, infrared])
    assert result.frames == 3
    assert result.scores["mpr"] == pytest.approx(2 / 3)  # frames 1 (infrared) and 2 (visible) hit
    assert result.scores["msr"] == pytest.approx(2 / 3 * 20 / 21)
    assert score_sequence("rgbt234", pred, [visible]).scores["mpr"] == pytest.approx(1 / 3)


def test_rgbt234_border_boxes_with_x_below_zero_are_real():
    gt = np.array([[-5.0, 10, 20, 20]] * 2)
    pred = np.array([[-5.0, 10, 20, 20], [100.0, 100, 20, 20]])
    assert score_sequence("rgbt234", pred, [gt, gt]).scores["mpr"] == 0.5  # LasHeR would count frame 1 a hit


def test_vtuav_subsamples_the_results_every_10th_frame():
    pred = np.array([shifted(300)] * 21)
    pred[[0, 10, 20]] = BOX
    result = score_sequence("vtuav", pred, [np.array([BOX] * 3), np.array([BOX] * 3)])
    assert result.frames == 3 and result.scores["mpr"] == 1.0


def test_empty_predictions_are_explained():
    with pytest.raises(MetricsInputError, match="no frame to score"):
        score_sequence("lasher", np.zeros((0, 4)), np.array([BOX]))


def test_result_files_prefer_exact_then_the_shortest_suffix_match(tmp_path):
    for name in ("car.txt", "JMMAC_car.txt", "JMMAC_bike.txt", "JMMAC_234_final_bike.txt", "JMMAC_redcar.txt"):
        (tmp_path / name).write_text("1,1,1,1\n")
    assert find_result_file(tmp_path, "car").name == "car.txt"
    assert find_result_file(tmp_path, "bike").name == "JMMAC_bike.txt"
    assert find_result_file(tmp_path, "redcar").name == "JMMAC_redcar.txt"


def test_a_sequence_name_that_ends_another_does_not_steal_its_file(tmp_path):
    for name in ("T_redcar.txt", "T_red_car.txt"):
        (tmp_path / name).write_text("1,1,1,1\n")
    with pytest.raises(MissingResultError, match=r"'car'.*" + str(tmp_path)):
        find_result_file(tmp_path, "car", known=["red_car", "redcar"])
    found = match_result_files(tmp_path, ["car", "redcar", "red_car"])
    assert {n: p.name for n, p in found.items()} == {"redcar": "T_redcar.txt", "red_car": "T_red_car.txt"}
    (tmp_path / "T_car.txt").write_text("1,1,1,1\n")
    assert match_result_files(tmp_path, ["car", "red_car"])["car"].name == "T_car.txt"


def test_ground_truth_layouts(tmp_path):
    write(tmp_path / "flat" / "a.txt", [BOX])
    write(tmp_path / "flat" / "testing_list.txt", [[1]])
    write(tmp_path / "flat" / "b" / "groundtruth.txt", [BOX])
    assert {n: [p.name for p in f] for n, f in ground_truth_files(tmp_path / "flat", "lasher").items()} == {
        "a": ["a.txt"],
        "b": ["groundtruth.txt"],
    }
    write(tmp_path / "rgbt" / "both" / "visible.txt", [BOX])
    write(tmp_path / "rgbt" / "both" / "infrared.txt", [BOX])
    write(tmp_path / "rgbt" / "one" / "infrared.txt", [BOX])
    (tmp_path / "rgbt" / "empty").mkdir()
    entries = ground_truth_files(tmp_path / "rgbt", "rgbt234")
    assert {n: [p.name for p in f] for n, f in entries.items()} == {
        "both": ["visible.txt", "infrared.txt"],
        "one": ["infrared.txt"],
    }
    write(tmp_path / "uav" / "s" / "rgb.txt", [BOX])
    write(tmp_path / "uav" / "s" / "ir.txt", [BOX])
    assert [p.name for p in ground_truth_files(tmp_path / "uav", "vtuav")["s"]] == ["rgb.txt", "ir.txt"]
    with pytest.raises(MetricsInputError, match="holds no ground truth"):
        ground_truth_files(tmp_path / "rgbt" / "empty", "gtot")


def test_folders_without_a_list_score_the_sequences_that_have_results(tmp_path):
    write(tmp_path / "gt" / "a.txt", [BOX, BOX])
    write(tmp_path / "gt" / "b.txt", [BOX, BOX])
    write(tmp_path / "res" / "trk_a.txt", [BOX, shifted(100)])
    result = evaluate_folders("lasher", tmp_path / "gt", tmp_path / "res")
    assert list(result.sequences) == ["a"] and result.skipped == ("b",)
    assert result.to_dict() == {"toolkit": "lasher", "overall": result.overall, "sequences": {"a": result.overall}}
    assert result.overall["pr"] == 0.5


def test_folders_with_a_list_require_every_result_and_none_matching_is_an_error(tmp_path):
    write(tmp_path / "gt" / "a.txt", [BOX])
    write(tmp_path / "gt" / "b.txt", [BOX])
    write(tmp_path / "res" / "a.txt", [BOX])
    (tmp_path / "list.txt").write_text("a\r\nb\r\n")
    with pytest.raises(MissingResultError, match=r"'b'.*res"):
        evaluate_folders("lasher", tmp_path / "gt", tmp_path / "res", tmp_path / "list.txt")
    (tmp_path / "list.txt").write_text("a\nc\n")
    with pytest.raises(MetricsInputError, match="no ground truth"):
        evaluate_folders("lasher", tmp_path / "gt", tmp_path / "res", tmp_path / "list.txt")
    (tmp_path / "other").mkdir()
    with pytest.raises(MissingResultError, match="none of the 2 sequences"):
        evaluate_folders("lasher", tmp_path / "gt", tmp_path / "other")


@needs_reference
def test_reproduces_published_rgbt234_jmmac_through_prefixed_result_files():
    root = REFERENCE / "RGBT234"
    result = evaluate_folders("rgbt234", root / "gt", root / "results" / "JMMAC", root / "SequencesName.txt")
    assert len(result.sequences) == 234
    assert (result.overall["mpr"], result.overall["msr"]) == pytest.approx((0.790, 0.573), abs=0.002)


@needs_reference
def test_reproduces_published_lasher_apfnet_through_the_toolkit():
    root = REFERENCE / "LasHeR_test"
    result = evaluate_folders("lasher", root / "annos", root / "results" / "APFNet", root / "testing_list.txt")
    assert len(result.sequences) == 245
    overall = result.overall
    assert (overall["pr"], overall["npr"], overall["sr"]) == pytest.approx((0.500, 0.439, 0.362), abs=0.002)
