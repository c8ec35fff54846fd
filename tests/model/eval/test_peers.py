"""Peers run on the same frames and are scored by our own toolkit code."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from mm_tracker_model.cli import peers as peers_cli
from mm_tracker_model.data.sequence import Sequence
from mm_tracker_model.eval.peers import PeerError, run_peer, write_ground_truth, write_results
from mm_tracker_model.eval.toolkits import evaluate_folders

NANO = Path(__file__).resolve().parents[3].parent / "shared" / "pretrained" / "nanotrack" / "onnx"


def _moving_square(folder: Path, frames: int = 8) -> Sequence:
    """A textured square moving 3 px a frame on a plain background: every tracker here follows it."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    patch = rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)
    paths, boxes = [], []
    for t in range(frames):
        image = np.full((120, 160, 3), 90, np.uint8)
        x, y = 40 + 3 * t, 50
        image[y : y + 24, x : x + 24] = patch
        paths.append(folder / f"{t:04d}.png")
        cv2.imwrite(str(paths[-1]), image)
        boxes.append([x, y, 24, 24])
    return Sequence("square", "rgb", paths, np.array(boxes, dtype=np.float64))


@pytest.mark.parametrize("tracker", ["csrt", "kcf", "mil"])
def test_opencv_peers_follow_a_moving_target_and_score_with_our_toolkit(tmp_path, tracker):
    sequence = _moving_square(tmp_path / "frames")
    run = run_peer(tracker, sequence)
    assert run.boxes.shape == (8, 4) and run.fps > 0
    np.testing.assert_array_equal(run.boxes[0], sequence.boxes_rgb[0])
    assert np.abs(run.boxes[-1, :2] - sequence.boxes_rgb[-1, :2]).max() < 6
    write_results(tmp_path / "out", run)
    write_ground_truth(tmp_path / "out", sequence)
    scores = evaluate_folders("lasher", tmp_path / "out" / "gt", tmp_path / "out" / tracker)
    assert scores.overall["pr"] == 1.0 and scores.overall["sr"] > 0.6


@pytest.mark.skipif(not NANO.is_dir(), reason=f"NanoTrack ONNX files not found in {NANO}")
def test_nanotrack_runs_from_its_onnx_files(tmp_path):
    run = run_peer("nano", _moving_square(tmp_path / "frames"), NANO)
    assert np.isfinite(run.boxes).all() and np.abs(run.boxes[-1, :2] - [61, 50]).max() < 8


def test_missing_model_files_and_unknown_peers_are_named(tmp_path):
    sequence = _moving_square(tmp_path / "frames", frames=2)
    with pytest.raises(PeerError, match=r"nanotrackv2_backbone_sim\.onnx"):
        run_peer("nano", sequence, tmp_path)
    with pytest.raises(PeerError, match="known: csrt, kcf, mil, nano"):
        run_peer("staple", sequence)


def test_the_command_writes_results_and_ground_truth_and_prints_scores(tmp_path, capsys):
    from support.fake_datasets import write_rgbt234

    write_rgbt234(tmp_path / "data" / "seq", frames=4)
    args = [
        "--dataset",
        str(tmp_path / "data"),
        "--format",
        "rgbt234",
        "--trackers",
        "mil",
        "--out",
        str(tmp_path / "o"),
    ]
    assert peers_cli.main([*args, "--quiet", "--json", str(tmp_path / "t.json")]) == 0
    assert (tmp_path / "o" / "mil" / "seq.txt").is_file() and (tmp_path / "o" / "gt" / "seq.txt").is_file()
    assert capsys.readouterr().out.splitlines()[1].startswith("mil")
    assert peers_cli.main([*args[:-4], "--trackers", "csrt,foo", "--out", str(tmp_path / "o")]) == 2


def test_the_command_runs_on_held_out_still_pairs_like_mm_tracker_eval(tmp_path, capsys):
    import json

    from support.fake_datasets import write_still_pairs

    from mm_tracker_model.data.still_pairs import EVAL_FRAMES, held_out_pairs

    root = write_still_pairs(tmp_path / "rs", count=6)
    out = tmp_path / "o"
    argv = ["--dataset", str(root), "--format", "still_pairs", "--trackers", "kcf", "--out", str(out)]
    assert peers_cli.main([*argv, "--quiet", "--json", str(tmp_path / "t.json")]) == 0
    names = sorted(p.name for p in (out / "gt").iterdir())
    assert len(names) == len(held_out_pairs(root)) == 2
    assert all(len(np.loadtxt(out / "kcf" / n, delimiter=",")) == EVAL_FRAMES for n in names)
    assert 0 <= json.loads((tmp_path / "t.json").read_text())["kcf"]["sr"] <= 1
