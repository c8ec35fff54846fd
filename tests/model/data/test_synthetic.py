import hashlib
from pathlib import Path

import numpy as np
import pytest

from mm_tracker_model.cli import synth
from mm_tracker_model.data.readers import read_sequence
from mm_tracker_model.data.synthetic import SynthConfig, event_frame, generate
from mm_tracker_model.geometry.boxes import map_box


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _config(modality="thermal", seed=3):
    return SynthConfig(modality=modality, frames=8, rgb_size=(160, 120), x_size=(128, 104), seed=seed)


def test_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path):
    generate(tmp_path / "a", _config(), 2)
    generate(tmp_path / "b", _config(), 2)
    generate(tmp_path / "c", _config(seed=4), 2)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")


def test_written_sequence_reads_back_with_exact_ground_truth(tmp_path):
    (folder,) = generate(tmp_path, _config(), 1)
    sequence = read_sequence(folder, "synthetic")
    assert len(sequence) == 8 and sequence.homographies.shape == (8, 3, 3)
    assert sequence.load_rgb(0).shape == (120, 160, 3) and sequence.load_aux(0).shape == (104, 128)
    for t in range(8):
        expected = map_box(sequence.boxes_rgb[t], np.linalg.inv(sequence.homographies[t]))
        np.testing.assert_allclose(sequence.boxes_aux[t], expected, atol=1e-4)


def test_the_misalignment_drifts_and_is_not_identity(tmp_path):
    (folder,) = generate(tmp_path, SynthConfig(frames=40, seed=1), 1)
    homographies = read_sequence(folder, "synthetic").homographies
    corner = np.array([0.0, 0.0, 1.0])
    positions = np.array([(h @ corner)[:2] / (h @ corner)[2] for h in homographies])
    assert np.linalg.norm(positions[0]) > 1.0  # the cameras are not aligned
    assert np.ptp(positions, axis=0).max() > 3.0  # and the offset drifts over the sequence


def test_thermal_target_is_warm_in_its_x_box(tmp_path):
    (folder,) = generate(tmp_path, _config(), 1)
    sequence = read_sequence(folder, "synthetic")
    aux = sequence.load_aux(0).astype(float)
    x, y, w, h = sequence.boxes_aux[0]
    inner = aux[int(y + h * 0.3) : int(y + h * 0.7), int(x + w * 0.3) : int(x + w * 0.7)]
    assert inner.mean() > aux.mean() + 40


def test_depth_is_16_bit_millimetres(tmp_path):
    (folder,) = generate(tmp_path, _config("depth"), 1)
    depth = read_sequence(folder, "synthetic").load_aux(0)
    assert depth.dtype == np.uint16 and 1000 < np.median(depth[depth > 0]) < 10000


def test_event_frames_mark_brightening_red_and_darkening_blue():
    before = np.full((4, 4, 3), 100, np.uint8)
    after = before.copy()
    after[0, 0] = 200
    after[1, 1] = 20
    frame = event_frame(before, after)
    assert frame[0, 0].tolist() == [255, 0, 0] and frame[1, 1].tolist() == [0, 0, 255]
    assert frame[3, 3].tolist() == [255, 255, 255]


def test_cli_refuses_a_non_empty_output_folder(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("x")
    assert synth.main(["--modality", "thermal", "--out", str(tmp_path), "--sequences", "1", "--frames", "3"]) == 2
    assert "not empty" in capsys.readouterr().err


@pytest.mark.parametrize("modality", ["thermal", "event"])
def test_cli_writes_the_manifest(tmp_path, modality):
    out = tmp_path / "out"
    args = ["--modality", modality, "--out", str(out), "--sequences", "1", "--frames", "3", "--rgb-size", "96x64"]
    assert synth.main([*args, "--x-size", "80x64"]) == 0
    assert (out / "manifest.json").is_file() and (out / "seq_0000" / "homography.txt").is_file()
