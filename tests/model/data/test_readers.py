from pathlib import Path

import cv2
import numpy as np
import pytest

from mm_tracker_model.data.annotations import AnnotationError, read_boxes
from mm_tracker_model.data.readers import READERS, read_sequence
from mm_tracker_model.data.sequence import SequenceError

SHARED_REAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "real_rgb"


def _frames(folder: Path, count: int, depth: bool = False) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        image = np.full((6, 8), 1000 + i, np.uint16) if depth else np.full((6, 8, 3), i, np.uint8)
        cv2.imwrite(str(folder / f"{i + 1:05d}.png"), image)


def _write(path: Path, text: str) -> None:
    path.write_bytes(text.encode())


def test_boxes_tolerate_mixed_delimiters_crlf_nan_and_polygons(tmp_path):
    path = tmp_path / "gt.txt"
    _write(path, "1,2,3,4\r\n5\t6\t7\t8\r\nNaN,NaN,NaN,NaN\r\n\r\n0 0 10 0 10 5 0 5\r\n")
    boxes = read_boxes(path)
    np.testing.assert_allclose(boxes[[0, 1, 4]], [[1, 2, 3, 4], [5, 6, 7, 8], [0, 0, 10, 5]])
    assert np.isnan(boxes[2]).all() and np.isnan(boxes[3]).all()


def test_corner_boxes_and_one_based_boxes(tmp_path):
    path = tmp_path / "gt.txt"
    _write(path, "10 20 30 60\n")
    np.testing.assert_allclose(read_boxes(path, corners=True), [[10, 20, 20, 40]])  # GTOT: no +1
    np.testing.assert_allclose(read_boxes(path, one_based=True), [[9, 19, 30, 60]])


def test_malformed_annotation_names_file_and_line(tmp_path):
    path = tmp_path / "gt.txt"
    _write(path, "1,2,3,4\n1,2,x,4\n")
    with pytest.raises(AnnotationError, match=r"gt.txt:2"):
        read_boxes(path)


def test_rgbt234_truncates_visible_infrared_length_mismatch(tmp_path):
    seq = tmp_path / "car"
    _frames(seq / "visible", 5)
    _frames(seq / "infrared", 5)
    _write(seq / "visible.txt", "1,1,2,2\n" * 5)
    _write(seq / "infrared.txt", "1,1,2,2\n" * 4)
    sequence = read_sequence(seq, "rgbt234")
    assert len(sequence) == 4 and sequence.boxes_aux.shape == (4, 4) and sequence.registered


def test_lasher_uses_init_txt_for_both(tmp_path):
    seq = tmp_path / "boy"
    _frames(seq / "visible", 3)
    _frames(seq / "infrared", 3)
    _write(seq / "init.txt", "1,1,2,2\n0,0,0,0\n3,3,2,2\n")
    sequence = read_sequence(seq, "lasher")
    assert sequence.annotated_frames().tolist() == [0, 2]  # zero-size row is not a valid annotation


def test_unaligned_datasets_are_marked(tmp_path):
    seq = tmp_path / "u"
    _frames(seq / "visible", 2)
    _frames(seq / "infrared", 2)
    _write(seq / "visible.txt", "1,1,2,2\n1,1,2,2\n")
    _write(seq / "infrared.txt", "5,5,2,2\n5,5,2,2\n")
    assert not read_sequence(seq, "lasher_unaligned").registered


def test_gtot(tmp_path):
    seq = tmp_path / "g"
    _frames(seq / "v", 2)
    _frames(seq / "i", 2)
    _write(seq / "groundTruth_v.txt", "10 10 20 30\n10 10 20 30\n")
    _write(seq / "groundTruth_i.txt", "11 10 21 30\n11 10 21 30\n")
    np.testing.assert_allclose(read_sequence(seq, "gtot").boxes_aux[0], [11, 10, 10, 20])


@pytest.mark.parametrize("infrared", ["ir", "ir_gray"])
def test_vtuav_sparse_ground_truth(tmp_path, infrared):
    seq = tmp_path / "v"
    _frames(seq / "rgb", 25)
    _frames(seq / infrared, 25)
    _write(seq / "rgb.txt", "1 1 4 4\n2 2 4 4\n3 3 4 4\n")
    _write(seq / "ir.txt", "1 1 4 4\n2 2 4 4\n3 3 4 4\n")
    sequence = read_sequence(seq, "vtuav")
    assert sequence.gt_every == 10 and sequence.annotated_frames().tolist() == [0, 10, 20]
    assert sequence.aux_frames[0].parent.name == infrared


def test_vtuav_without_an_infrared_folder_names_the_expected_one(tmp_path):
    seq = tmp_path / "v"
    _frames(seq / "rgb", 3)
    with pytest.raises(SequenceError, match="ir"):
        read_sequence(seq, "vtuav")


def test_depthtrack_reads_16_bit_depth_and_nan_rows_as_absent(tmp_path):
    seq = tmp_path / "d"
    _frames(seq / "color", 3)
    _frames(seq / "depth", 3, depth=True)
    _write(seq / "groundtruth.txt", "1,1,2,2\nnan,nan,nan,nan\n1,1,2,2\n")
    sequence = read_sequence(seq, "depthtrack")
    assert sequence.load_aux(0).dtype == np.uint16 and sequence.absent.tolist() == [False, True, False]
    assert sequence.annotated_frames().tolist() == [0, 2]


def test_visevent_absent_labels(tmp_path):
    seq = tmp_path / "e"
    _frames(seq / "vis_imgs", 3)
    _frames(seq / "event_imgs", 3)
    _write(seq / "groundtruth.txt", "1,1,2,2\n1,1,2,2\n1,1,2,2\n")
    _write(seq / "absent_label.txt", "0\n1\n0\n")
    sequence = read_sequence(seq, "visevent")
    assert sequence.modality == "event" and sequence.annotated_frames().tolist() == [0, 2]


def test_got10k_and_vot(tmp_path):
    got = tmp_path / "GOT-10k_Train_000001"
    _frames(got, 2)
    _write(got / "groundtruth.txt", "1,1,2,2\n1,1,2,2\n")
    _write(got / "absence.label", "0\n1\n")
    assert read_sequence(got, "got10k").annotated_frames().tolist() == [0]
    vot = tmp_path / "bag"
    _frames(vot / "color", 2)
    _write(vot / "groundtruth.txt", "0,0,10,0,10,5,0,5\n0,0,10,0,10,5,0,5\n")
    np.testing.assert_allclose(read_sequence(vot, "vot").boxes_rgb[0], [0, 0, 10, 5])


def test_missing_parts_are_named(tmp_path):
    with pytest.raises(SequenceError, match="does not exist"):
        read_sequence(tmp_path / "nope", "otb")
    (tmp_path / "s").mkdir()
    with pytest.raises(SequenceError, match=r"frame folder .*img.* is missing"):
        read_sequence(tmp_path / "s", "otb")
    with pytest.raises(SequenceError, match="format 'kitti' unknown"):
        read_sequence(tmp_path / "s", "kitti")


@pytest.mark.skipif(not SHARED_REAL.is_dir(), reason="../shared/data/real_rgb is not beside this checkout")
@pytest.mark.parametrize("name", ["OTB_David", "VOT_bag", "UAV123_truck4_1"])
def test_shared_real_sequences_read(name):
    fmt = "vot" if name.startswith("VOT") else "otb"
    sequence = read_sequence(SHARED_REAL / name, fmt)
    assert len(sequence) > 50 and len(sequence.annotated_frames()) > 50
    image = sequence.load_rgb(0)
    x, _, w, _ = sequence.boxes_rgb[0]
    assert image.ndim == 3 and 0 <= x < image.shape[1] and w > 0


def test_every_documented_format_has_a_reader():
    documented = {"lasher", "rgbt234", "gtot", "vtuav", "depthtrack", "visevent", "lasher_unaligned", "muart244"}
    assert documented | {"otb", "uav123", "dtb70", "vot", "got10k"} <= set(READERS)
