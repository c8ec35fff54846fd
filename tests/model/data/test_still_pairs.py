"""Registered still pairs as sequences: the fixed split, exact boxes under the camera motion, bad folders."""

import json

import cv2
import numpy as np
import pytest
from support.fake_datasets import write_still_pairs

from mm_tracker_model.data.sequence import SequenceError
from mm_tracker_model.data.sources import STILL_PAIRS_FORMAT, open_sequence
from mm_tracker_model.data.still_pairs import (
    EVAL_FRAMES,
    HELD_OUT_EVERY,
    held_out_pairs,
    pair_names,
    split_names,
    still_pair_sequence,
)


def test_split_is_fixed_by_name_and_disjoint(tmp_path):
    root = write_still_pairs(tmp_path / "rs")
    (root / "visible" / "only_visible.png").write_bytes((root / "visible" / "000.png").read_bytes())
    names = pair_names(root)
    assert names == [f"{i:03d}.png" for i in range(7)]  # a name in one folder only is not a pair
    held, train = split_names(root, held_out=True), split_names(root, held_out=False)
    assert held == names[::HELD_OUT_EVERY] and not set(held) & set(train) and len(held) + len(train) == 7
    assert held_out_pairs(root) == [root / n for n in held]


def test_sequence_boxes_follow_the_camera_motion(tmp_path):
    root = write_still_pairs(tmp_path / "rs")
    sequence = still_pair_sequence(root, "001.png", frames=6, seed=0)
    assert len(sequence) == 6 and sequence.registered and sequence.modality == "thermal"
    assert sequence.load_aux(0).shape[:2] == (120, 160)
    # The content inside the box moves with the box: the crops at frames 0 and 19 show the same patch, and the
    # first frame's box on the last frame does not (the camera moved).
    long = still_pair_sequence(root, "001.png", frames=20, seed=0)
    crops = [_crop(long.load_aux(t), long.boxes_rgb[t]) for t in (0, 19)]
    unmoved = _crop(long.load_aux(19), long.boxes_rgb[0])
    assert _correlation(*crops) > 0.9 > 0.5 > _correlation(crops[0], unmoved)
    # The same still, the same seed: the same sequence; another seed moves the camera differently.
    again = still_pair_sequence(root, "001.png", frames=6, seed=0)
    np.testing.assert_array_equal(again.boxes_rgb, sequence.boxes_rgb)
    other = still_pair_sequence(root, "001.png", frames=6, seed=1)
    assert not np.allclose(other.boxes_rgb[1:], sequence.boxes_rgb[1:])


def test_bad_folders_are_refused_with_the_reason(tmp_path):
    with pytest.raises(SequenceError, match="missing folder"):
        pair_names(tmp_path)
    root = write_still_pairs(tmp_path / "rs")
    cv2.imwrite(str(root / "infrared" / "002.png"), np.zeros((60, 80), np.uint8))
    with pytest.raises(SequenceError, match="differ"):
        still_pair_sequence(root, "002.png")


def test_evaluation_format_opens_a_pair_with_optional_misalignment(tmp_path):
    root = write_still_pairs(tmp_path / "rs")
    sequence = open_sequence(root / "000.png", STILL_PAIRS_FORMAT)
    assert len(sequence) == EVAL_FRAMES
    misaligned = open_sequence(root / "000.png", STILL_PAIRS_FORMAT, misalign="seed=1")
    assert len(misaligned) == EVAL_FRAMES and misaligned.homographies is not None


def test_eval_cli_runs_the_held_out_pairs(tmp_path):
    from mm_tracker_model.cli.eval import main

    root = write_still_pairs(tmp_path / "rs", count=6)
    out = tmp_path / "out"
    argv = ["--dataset", str(root), "--format", STILL_PAIRS_FORMAT, "--out", str(out), "--no-video", "--quiet"]
    assert main([*argv, "--json", str(tmp_path / "m.json")]) == 0
    report = json.loads((tmp_path / "m.json").read_text())
    assert sorted(report["sequences"]) == ["still_000", "still_005"]  # every 5th by name
    assert all(s["frames"] == EVAL_FRAMES for s in report["sequences"].values())


def _crop(image, box):
    x, y, w, h = box
    grey = image if image.ndim == 2 else image[..., 0]
    patch = cv2.getRectSubPix(grey.astype(np.float32), (round(w), round(h)), (x + w / 2, y + h / 2))
    return cv2.resize(patch, (24, 24), interpolation=cv2.INTER_AREA)


def _correlation(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))
