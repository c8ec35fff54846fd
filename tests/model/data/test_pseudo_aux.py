from pathlib import Path

import numpy as np
import pytest

from mm_tracker_model.data.pseudo_aux import PseudoAuxSequence
from mm_tracker_model.data.readers import read_sequence
from mm_tracker_model.data.sequence import SequenceError
from mm_tracker_model.geometry.boxes import map_box

REAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "real_rgb"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/real_rgb is not beside this checkout")


@pytest.fixture(scope="module")
def couple():
    return read_sequence(REAL / "OTB_Couple", "otb")


def test_pseudo_thermal_is_warm_at_the_target_through_the_true_homography(couple):
    pseudo = PseudoAuxSequence(couple, "thermal", seed=1)
    aux = pseudo.load_aux(10).astype(float)
    x, y, w, h = pseudo.boxes_aux[10]
    centre = aux[int(y + 0.4 * h) : int(y + 0.6 * h), int(x + 0.4 * w) : int(x + 0.6 * w)]
    assert aux.ndim == 2 and centre.mean() > np.median(aux) + 40
    np.testing.assert_allclose(
        pseudo.boxes_aux[10], map_box(couple.boxes_rgb[10], np.linalg.inv(pseudo.homographies[10]))
    )


def test_the_x_camera_is_smaller_and_misaligned(couple):
    pseudo = PseudoAuxSequence(couple, "event", seed=2)
    assert pseudo.load_aux(1).shape == (192, 256, 3)  # 0.8 of 320x240
    assert not np.allclose(pseudo.homographies[0], np.diag([1.25, 1.25, 1.0]), atol=0.5)
    sequence = pseudo.as_sequence()
    assert sequence.modality == "event" and sequence.homographies.shape == (len(couple), 3, 3)


def test_same_seed_same_stream(couple):
    a, b = PseudoAuxSequence(couple, "thermal", seed=5), PseudoAuxSequence(couple, "thermal", seed=5)
    np.testing.assert_array_equal(a.load_aux(3), b.load_aux(3))
    assert PseudoAuxSequence(couple, "depth", seed=5).load_aux(3).dtype == np.uint16


def test_unknown_pseudo_modality(couple):
    with pytest.raises(SequenceError, match="pseudo modality 'radar' unknown"):
        PseudoAuxSequence(couple, "radar")
