import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from mm_tracker_model.cli.pack import main as pack_main
from mm_tracker_model.data.pack import (
    PackConfig,
    build_pack,
    canvas_side,
    make_entry,
    read_pack,
    template_region,
    write_pack,
)
from mm_tracker_model.data.readers import read_sequence
from mm_tracker_model.data.sampler import PairSampler, SamplerConfig, collate
from mm_tracker_model.data.sources import DerivedSequence
from mm_tracker_model.data.synthetic import SynthConfig, generate
from mm_tracker_model.errors import SequenceError
from mm_tracker_model.geometry.crops import warp_image
from mm_tracker_model.presets import get_preset

NET = get_preset("full_tiny")
FRAMES = 6


def _texture(seed: int, width: int = 320, height: int = 240) -> np.ndarray:
    noise = np.random.default_rng(seed).random((height // 8, width // 8, 3))
    return (cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 1) * 255).astype(np.uint8)


def _drifting_sequence() -> DerivedSequence:
    """RGB texture frames; X = their grey image seen by a camera whose X -> RGB map drifts each frame."""
    rgb = [_texture(i) for i in range(FRAMES)]
    maps = [
        np.array([[0.9, 0.02 * t, 12.0 + 3 * t], [-0.01 * t, 0.92, 8.0 - 2 * t], [0, 0, 1.0]]) for t in range(FRAMES)
    ]
    grey = [cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) for image in rgb]
    aux = [warp_image(g, np.linalg.inv(h), 300, 220) for g, h in zip(grey, maps, strict=True)]
    boxes = np.array([[130.0 + 4 * t, 90.0 + 2 * t, 40.0, 30.0] for t in range(FRAMES)])
    return DerivedSequence(
        name="drift",
        modality="thermal",
        rgb_frames=[Path(f"{i}.png") for i in range(FRAMES)],
        aux_frames=[Path(f"{i}.png") for i in range(FRAMES)],
        boxes_rgb=boxes,
        homographies=np.stack(maps),
        registered=False,
        rgb_loader=rgb.__getitem__,
        aux_loader=aux.__getitem__,
    )


def _interior_difference(entry, frame: int, use_map: bool) -> float:
    side = entry.rgb.shape[1]
    matrix = entry.homographies[frame] if use_map else np.eye(3)
    x_in_rgb = warp_image(entry.aux[frame], matrix, side, side).astype(float)
    grey = cv2.cvtColor(entry.rgb[frame], cv2.COLOR_RGB2GRAY).astype(float)
    inside = warp_image(np.ones_like(entry.aux[frame]), matrix, side, side) > 0
    inside &= cv2.erode(inside.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    return float(np.abs(x_in_rgb - grey)[inside].mean())


def test_an_entry_carries_the_exact_alignment_truth_of_both_frames():
    sequence = _drifting_sequence()
    sampler = PairSampler([sequence], NET, SamplerConfig())
    entry = make_entry(sampler, sequence, (1, 4), 5.0, np.random.default_rng(0))
    assert entry.rgb.shape == (2, canvas_side(NET, 5.0), canvas_side(NET, 5.0), 3) and entry.aux.ndim == 3
    np.testing.assert_allclose(entry.homographies[0], np.eye(3), atol=1e-9)  # the X canvas is the template's
    # The template frame is kept around its target only: its template crop is intact, the rest blank.
    x, y, w, h = entry.boxes[0]
    half = np.sqrt(w * h) * NET.template_factor / 2
    rows = np.arange(entry.rgb.shape[1]) + 0.5
    inside = (np.abs(rows - x - w / 2) <= half)[None, :] & (np.abs(rows - y - h / 2) <= half)[:, None]
    kept = template_region(entry.boxes[0], NET.template_factor, entry.rgb.shape[1]).astype(bool)
    assert (kept >= inside).all() and kept.mean() < 0.4
    assert entry.rgb[0][inside].std() > 10 and not entry.rgb[0][~kept].any() and not entry.aux[0][~kept].any()
    # The search frame's X, mapped by the packed truth, lands on its RGB; without it, it does not.
    assert _interior_difference(entry, 1, use_map=True) < 4.0
    assert _interior_difference(entry, 1, use_map=False) > 4 * _interior_difference(entry, 1, use_map=True)
    # The search target sits at the canvas centre at the search crop's resolution.
    x, y, w, h = entry.boxes[1]
    assert (x + w / 2, y + h / 2) == pytest.approx((entry.rgb.shape[1] / 2,) * 2)
    assert np.sqrt(w * h) == pytest.approx(NET.search_size / NET.search_factor)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    generate(out, SynthConfig(frames=8, rgb_size=(160, 120), x_size=(128, 104), seed=4), 2)
    return out


def test_a_written_pack_reads_back_as_sequences_the_sampler_draws_from(tmp_path, synthetic):
    sources = [read_sequence(p, "synthetic") for p in sorted(synthetic.glob("seq_*"))]
    config = PackConfig(entries=5, seed=1)
    entries = build_pack(sources, NET, config)
    path = write_pack(tmp_path / "pack.npz", entries, NET, config, "thermal")
    header, sequences = read_pack(path)
    assert header["modality"] == "thermal" and len(sequences) == 5
    by_frames = {(e.source, e.frames): e for e in entries}
    for frames, sequence in zip(header["frames"], sequences, strict=True):
        entry = by_frames[(header["sources"][sequences.index(sequence)], tuple(frames))]
        assert np.array_equal(sequence.load_rgb(1), entry.rgb[1]) and np.array_equal(sequence.load_aux(0), entry.aux[0])
        np.testing.assert_allclose(sequence.homographies, entry.homographies)
    batch = collate([PairSampler(sequences, NET).sample(np.random.default_rng(i)) for i in range(4)])
    assert batch["search"].shape == (4, 6, 160, 160) and bool(batch["homography"].isfinite().all())
    assert ((batch["box"][:, :2] > 0) & (batch["box"][:, :2] < 1)).all()


def test_the_budget_bounds_the_pack_and_bad_files_are_named(tmp_path, synthetic):
    sources = [read_sequence(p, "synthetic") for p in sorted(synthetic.glob("seq_*"))]
    unbounded = build_pack(sources, NET, PackConfig(entries=6))
    sizes = [sum(len(zlib.compress(a.tobytes(), 1)) for a in (e.rgb, e.aux)) for e in unbounded]
    bounded = build_pack(sources, NET, PackConfig(entries=6, max_mib=(sum(sizes[:3]) + 1) / 2**20))
    assert [e.frames for e in bounded] == [e.frames for e in unbounded[:3]]
    path = write_pack(tmp_path / "small.npz", bounded, NET, PackConfig(), "thermal")
    assert path.stat().st_size <= sum(sizes[:3]) + 4096  # the file is compressed at least as well (+ header)
    (tmp_path / "bad.npz").write_bytes(b"not a pack")
    with pytest.raises(SequenceError, match="not a readable training pack"):
        read_pack(tmp_path / "bad.npz")
    with pytest.raises(SequenceError, match="empty pack"):
        write_pack(tmp_path / "empty.npz", [], NET, PackConfig(), "thermal")


def test_the_pack_command_packs_a_training_config_that_then_trains_from_it(tmp_path, synthetic, capsys):
    from mm_tracker_model.train.config import load_train_config
    from mm_tracker_model.train.trainer import train

    config = {"preset": "full_tiny", "synthetic": [str(synthetic)], "out": str(tmp_path / "run")}
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(config))
    assert pack_main(["--config", str(tmp_path / "data.yaml"), "--out", str(tmp_path / "p.npz"), "--entries", "4"]) == 0
    assert "wrote 4 entries" in capsys.readouterr().out
    config = config | {"synthetic": [], "packs": [str(tmp_path / "p.npz")], "samples_per_epoch": 2, "batch_size": 2}
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(config | {"epochs": 1, "validation_samples": 2}))
    result = train(load_train_config(tmp_path / "train.yaml"), progress=False)
    assert result.checkpoint.is_file()
    assert pack_main(["--config", str(tmp_path / "data.yaml"), "--out", str(tmp_path / "q.npz"), "--context", "1"]) == 2
    assert "context 1.0 must be in [2, 12]" in capsys.readouterr().err
