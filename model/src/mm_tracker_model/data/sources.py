"""Evaluation inputs from any dataset folder: the RGB + X sequence, optionally with a synthesised or misaligned X.

`--pseudo-aux MODALITY` synthesises X for RGB-only formats (as training does); `--misalign SPEC` warps a real
X stream by a known drifting homography, so any aligned sequence becomes an unaligned test with exact alignment
ground truth. SPEC is `default` or comma-separated `key=value` of drift (X px), jitter (px), scale (X size
relative to the source) and seed, e.g. `drift=15,jitter=0.5,seed=3`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mm_tracker_model.data.misalignment import Misalignment
from mm_tracker_model.data.pseudo_aux import PseudoAuxSequence
from mm_tracker_model.data.readers import read_sequence
from mm_tracker_model.data.sequence import Sequence, SequenceError
from mm_tracker_model.geometry.boxes import map_box
from mm_tracker_model.geometry.crops import warp_image

# Evaluation input: ROOT/NAME of a registered still pair (data/still_pairs.py) under synthetic camera motion.
STILL_PAIRS_FORMAT = "still_pairs"


@dataclass(frozen=True)
class MisalignSpec:
    drift: float = 10.0
    jitter: float = 0.6
    scale: float = 0.8
    seed: int = 0

    @classmethod
    def parse(cls, text: str) -> MisalignSpec:
        if text.strip() in ("", "default"):
            return cls()
        values: dict[str, float | int] = {}
        names = {f.name: f.type for f in dataclasses.fields(cls)}
        for item in text.split(","):
            key, _, value = item.partition("=")
            key = key.strip()
            if key not in names or not value:
                raise SequenceError(f"--misalign item {item!r}: expected key=value with key in {', '.join(names)}")
            try:
                values[key] = int(value) if key == "seed" else float(value)
            except ValueError:
                raise SequenceError(f"--misalign {key}={value!r} is not a number") from None
        spec = cls(**values)
        finite = all(np.isfinite([spec.drift, spec.jitter, spec.scale]))
        if not finite or spec.drift < 0 or spec.jitter < 0 or not 0.2 <= spec.scale <= 2.0 or spec.seed < 0:
            raise SequenceError(f"--misalign {text!r}: drift, jitter finite >= 0, scale in [0.2, 2], seed >= 0")
        return spec


@dataclass
class DerivedSequence(Sequence):
    """A Sequence whose X (and optionally RGB) frames come from a function (synthesised or warped), not files."""

    aux_loader: Callable[[int], np.ndarray] | None = None
    rgb_loader: Callable[[int], np.ndarray] | None = None

    @classmethod
    def of(
        cls,
        sequence: Sequence,
        aux_loader: Callable[[int], np.ndarray],
        rgb_loader: Callable[[int], np.ndarray] | None = None,
        **changes,
    ) -> DerivedSequence:
        fields = {f.name: getattr(sequence, f.name) for f in dataclasses.fields(Sequence)}
        return cls(**(fields | changes), aux_loader=aux_loader, rgb_loader=rgb_loader)

    def load_rgb(self, index: int) -> np.ndarray:
        return self.rgb_loader(index) if self.rgb_loader is not None else super().load_rgb(index)

    def load_aux(self, index: int) -> np.ndarray:
        return self.aux_loader(index) if self.aux_loader is not None else super().load_aux(index)


class MisalignedSequence:
    """A sequence whose X frames are warped by a known drifting homography (composed with any known one)."""

    def __init__(self, sequence: Sequence, spec: MisalignSpec) -> None:
        self.base = sequence
        first = sequence.load_aux(0)
        source_size = (first.shape[1], first.shape[0])
        x_size = (max(32, round(source_size[0] * spec.scale)), max(32, round(source_size[1] * spec.scale)))
        rgb = sequence.load_rgb(0)
        to_rgb = np.diag([rgb.shape[1] / source_size[0], rgb.shape[0] / source_size[1], 1.0])
        known = sequence.homographies if sequence.homographies is not None else [to_rgb] * len(sequence)
        self.misalignment = Misalignment.sample(
            np.random.default_rng([spec.seed, 11]), source_size, x_size, drift_px=spec.drift, jitter_px=spec.jitter
        )
        # misalignment.homography(t): new X pixels -> source X pixels.
        self.warps = [self.misalignment.homography(t) for t in range(len(sequence))]
        homographies = np.stack([known[t] @ self.warps[t] for t in range(len(sequence))])
        # Ground-truth row k belongs to frame k * gt_every (sparse VTUAV-style annotations).
        rows = range(min(len(sequence.boxes_rgb), -(-len(sequence) // sequence.gt_every)))
        step = sequence.gt_every
        boxes_aux = np.stack([map_box(sequence.boxes_rgb[k], np.linalg.inv(homographies[k * step])) for k in rows])
        self.sequence = DerivedSequence.of(
            sequence, self.load_aux, homographies=homographies, boxes_aux=boxes_aux, registered=False
        )

    def load_aux(self, index: int) -> np.ndarray:
        width, height = self.misalignment.x_size
        return warp_image(self.base.load_aux(index), np.linalg.inv(self.warps[index]), width, height)


def read_input_sequence(folder: str | Path, format: str) -> Sequence:
    """A sequence as stored: a reader's layout, or a still pair (ROOT/NAME) under its synthetic camera motion."""
    if format == STILL_PAIRS_FORMAT:
        from mm_tracker_model.data.still_pairs import EVAL_FRAMES, still_pair_sequence  # it builds on this module

        return still_pair_sequence(Path(folder).parent, Path(folder).name, EVAL_FRAMES)
    return read_sequence(folder, format)


def dataset_folders(root: Path, format: str) -> list[Path]:
    """The sequences of a dataset folder: its sub-folders, or for still pairs the held-out pairs (ROOT/NAME)."""
    if not root.is_dir():
        raise SequenceError(f"--dataset {str(root)!r} is not a folder")
    if format == STILL_PAIRS_FORMAT:
        from mm_tracker_model.data.still_pairs import held_out_pairs

        return held_out_pairs(root)
    return sorted(p for p in root.iterdir() if p.is_dir())


def open_sequence(
    folder: str | Path, format: str, pseudo_aux: str | None = None, misalign: str | None = None
) -> Sequence:
    """A dataset sequence ready for evaluation; `load_rgb`/`load_aux` give the frames that will be streamed."""
    sequence = read_input_sequence(folder, format)
    spec = MisalignSpec.parse(misalign) if misalign is not None else None
    if sequence.aux_frames is None:
        if pseudo_aux is None:
            raise SequenceError(f"{format} sequence {sequence.name!r} is RGB-only: give --pseudo-aux thermal|event")
        spec = spec or MisalignSpec()
        pseudo = PseudoAuxSequence(sequence, pseudo_aux, spec.seed, spec.scale, spec.drift, spec.jitter)
        return DerivedSequence.of(pseudo.as_sequence(), pseudo.load_aux, registered=False)
    if pseudo_aux is not None:
        raise SequenceError(f"{format} sequence {sequence.name!r} has its own X stream; --pseudo-aux is for RGB-only")
    if spec is None:
        return sequence
    if not sequence.registered:
        raise SequenceError(f"{format} is not registered (X is not aligned to RGB): --misalign needs aligned input")
    return MisalignedSequence(sequence, spec).sequence
