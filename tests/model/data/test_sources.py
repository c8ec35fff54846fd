import numpy as np
import pytest
from support.fake_datasets import write_rgbt234

from mm_tracker_model.data.sequence import SequenceError
from mm_tracker_model.data.sources import MisalignSpec, open_sequence
from mm_tracker_model.geometry.boxes import map_box
from mm_tracker_model.geometry.crops import warp_image


def test_misalign_spec_parses_and_rejects():
    assert MisalignSpec.parse("default") == MisalignSpec()
    assert MisalignSpec.parse("drift=15,seed=3") == MisalignSpec(drift=15.0, seed=3)
    for bad in ("drift", "speed=3", "drift=abc", "scale=5"):
        with pytest.raises(SequenceError):
            MisalignSpec.parse(bad)


def test_misaligned_sequence_has_exact_homographies(tmp_path):
    write_rgbt234(tmp_path / "seq")
    base = open_sequence(tmp_path / "seq", "rgbt234")
    moved = open_sequence(tmp_path / "seq", "rgbt234", misalign="drift=12,scale=0.75,seed=2")
    assert moved.registered is False and moved.homographies.shape == (3, 3, 3)
    x = moved.load_aux(1)
    assert x.shape == (45, 60)  # scale 0.75
    # Warping the misaligned X back through the true homography reproduces the registered X inside the view.
    back = warp_image(x, moved.homographies[1], 80, 60).astype(float)
    original = base.load_aux(1).astype(float)
    inside = warp_image(np.full_like(x, 255), moved.homographies[1], 80, 60) == 255
    assert inside.mean() > 0.3 and np.abs(back - original)[inside].mean() < 6
    np.testing.assert_allclose(map_box(moved.boxes_aux[1], moved.homographies[1]), base.boxes_rgb[1], atol=1.5)


def test_rgb_only_formats_need_a_pseudo_modality(tmp_path):
    import cv2

    (tmp_path / "otb" / "img").mkdir(parents=True)
    for i in range(2):
        cv2.imwrite(str(tmp_path / "otb" / "img" / f"{i + 1:04d}.jpg"), np.zeros((40, 50, 3), np.uint8))
    (tmp_path / "otb" / "groundtruth_rect.txt").write_text("5,5,10,10\n6,5,10,10\n")
    with pytest.raises(SequenceError, match="RGB-only: give --pseudo-aux"):
        open_sequence(tmp_path / "otb", "otb")
    sequence = open_sequence(tmp_path / "otb", "otb", pseudo_aux="thermal", misalign="seed=1")
    assert sequence.modality == "thermal" and sequence.load_aux(1).ndim == 2 and sequence.homographies is not None
    with pytest.raises(SequenceError, match="has its own X stream"):
        write_rgbt234(tmp_path / "rgbt")
        open_sequence(tmp_path / "rgbt", "rgbt234", pseudo_aux="thermal")
