"""The compact training pack: training pairs decoded and cropped once, stored as uint8 arrays in one .npz file.

Each entry is a template frame and a search frame of one source sequence, both resampled into one shared
canvas around the search frame's target at the network's resolution, with room for the sampler's jitter: RGB,
the X frame (seen through the template frame's true X -> RGB map), the boxes and the exact X -> RGB map of each
frame in canvas pixels; the template frame is kept around its target only. An entry reads back as a
two-frame sequence with the same coordinates in both frames and its pair fixed, so `PairSampler` draws
jittered, warped, flipped pairs from it exactly as from the source — without decoding a 1280x720 JPEG per step.
A pack of a few hundred entries fits in tens of MiB, small enough to travel with the working tree to a GPU
machine (README, "Training pack").
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mm_tracker_model.data.sampler import PairSampler, SamplerConfig, aux_as_rgb
from mm_tracker_model.data.sources import DerivedSequence
from mm_tracker_model.errors import SequenceError
from mm_tracker_model.geometry.boxes import map_box
from mm_tracker_model.geometry.crops import CropTransform, warp_into_crop
from mm_tracker_model.presets import NetConfig

PACK_FORMAT = "mm_tracker.pack/1"
# The largest pack the tree may carry beside the shipped weights within the 64 MiB that travel to a GPU
# machine (checked by tests/test_repository.py).
PACK_BUDGET_MIB = 24.0


@dataclass(frozen=True)
class PackConfig:
    entries: int = 400
    max_gap: int = 30  # frames between the template and the search frame
    # Canvas side in target sizes (sqrt(w h) of the search box); the search crop spans `search_factor` of them,
    # the rest is room for the sampler's centre and scale jitter.
    context: float = 5.0
    seed: int = 0
    max_mib: float = PACK_BUDGET_MIB

    def __post_init__(self) -> None:
        if self.entries < 1 or self.max_gap < 0 or self.max_mib <= 0:
            raise ValueError("pack: entries >= 1, max_gap >= 0, max_mib > 0")
        if not 2.0 <= self.context <= 12.0:
            raise ValueError(f"pack context {self.context} must be in [2, 12] target sizes")


@dataclass
class PackEntry:
    source: str
    frames: tuple[int, int]
    rgb: np.ndarray  # (2, C, C, 3) uint8
    aux: np.ndarray  # (2, C, C) or (2, C, C, 3) uint8: the X frames as the network's RGB input makes them
    boxes: np.ndarray  # (2, 4) x, y, w, h in canvas pixels
    homographies: np.ndarray  # (2, 3, 3) X canvas -> RGB canvas pixels (identity at the template frame)


def canvas_side(net: NetConfig, context: float) -> int:
    """Canvas pixels: `context` target sizes at the search crop's resolution."""
    return math.ceil(net.search_size * context / net.search_factor)


def template_region(box: np.ndarray, factor: float, side: int, margin: float = 1.15) -> np.ndarray:
    """(side, side) uint8 mask: 1 on the template crop around `box` (plus a margin for rounding), else 0."""
    x, y, w, h = box
    half = math.sqrt(w * h) * factor * margin / 2
    cx, cy = x + w / 2, y + h / 2
    rows = np.arange(side) + 0.5
    inside_x = np.abs(rows - cx) <= half
    inside_y = np.abs(rows - cy) <= half
    return (inside_y[:, None] & inside_x[None, :]).astype(np.uint8)


def make_entry(sampler: PairSampler, sequence, frames: tuple[int, int], context: float, rng) -> PackEntry:
    """One entry of `sequence` (a Sequence or a pseudo-X source): template frame, search frame.

    Registered sources (X aligned to RGB) pack with an identity map: their random warp is drawn per step.
    """
    base = sequence.as_sequence() if hasattr(sequence, "as_sequence") else sequence
    net = sampler.net
    side = canvas_side(net, context)
    template, search = frames
    x, y, w, h = base.boxes_rgb[search]
    scale = net.search_size / (net.search_factor * math.sqrt(w * h))
    canvas = CropTransform(x + w / 2 - side / (2 * scale), y + h / 2 - side / (2 * scale), scale, side).matrix
    truths, stored_to_x = sampler.true_homographies(base, frames, rng)
    x_to_canvas = canvas @ truths[0]  # the X canvas: the network's X seen through the template frame's truth
    rgb, aux = [], []
    for frame in frames:
        rgb.append(warp_into_crop(sequence.load_rgb(frame), canvas, side))
        aux.append(warp_into_crop(aux_as_rgb(sequence.load_aux(frame), base.modality), x_to_canvas @ stored_to_x, side))
    # The template frame is only ever cropped around its target (no jitter): the rest of its canvas is blank,
    # which costs nothing compressed.
    keep = template_region(map_box(base.boxes_rgb[template], canvas), net.template_factor, side)
    rgb[0], aux[0] = rgb[0] * keep[..., None], aux[0] * keep[..., None]
    aux = np.stack(aux)
    grey = bool((aux == aux[..., :1]).all())
    return PackEntry(
        source=base.name,
        frames=(int(template), int(search)),
        rgb=np.stack(rgb),
        aux=aux[..., 0] if grey else aux,
        boxes=np.stack([map_box(base.boxes_rgb[f], canvas) for f in frames]).astype(np.float32),
        homographies=np.stack([canvas @ t @ np.linalg.inv(x_to_canvas) for t in truths]),
    )


def build_pack(sources: list, net: NetConfig, config: PackConfig, progress: bool = False) -> list[PackEntry]:
    """`config.entries` entries drawn like the sampler draws pairs: a random source, then two nearby frames."""
    usable = [(s, f) for s in sources if len(f := PairSampler.frames_of(s)) >= 1]
    if not usable:
        raise SequenceError("no source with an X stream, an alignment truth and an annotated frame to pack")
    sampler = PairSampler([s for s, _ in usable], net, SamplerConfig(), min_frames=1)
    rng = np.random.default_rng([config.seed, 29])
    budget = config.max_mib * 2**20
    entries, size = [], 0
    for _ in tqdm(range(config.entries), desc="packing", disable=not progress):
        sequence, frames = usable[rng.integers(len(usable))]
        pair = PairSampler.nearby_pair(frames, config.max_gap, rng)
        entry = make_entry(sampler, sequence, pair, config.context, rng)
        size += sum(len(zlib.compress(a.tobytes(), 1)) for a in (entry.rgb, entry.aux))
        if size > budget:  # zlib at its fastest level compresses less than the file's, so the file stays within
            break
        entries.append(entry)
    return entries


def write_pack(path: str | Path, entries: list[PackEntry], net: NetConfig, config: PackConfig, modality: str) -> Path:
    """One compressed .npz: the arrays, and a JSON header naming the sources and how the pack was made."""
    if not entries:
        raise SequenceError("an empty pack cannot be written")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grey = [e for e in entries if e.aux.ndim == 3]
    colour = [e for e in entries if e.aux.ndim == 4]
    ordered = grey + colour  # the header's order: grey X first
    header = {
        "format": PACK_FORMAT,
        "modality": modality,
        "preset": net.name,
        "search_size": net.search_size,
        "search_factor": net.search_factor,
        "config": asdict(config),
        "sources": [e.source for e in ordered],
        "frames": [list(e.frames) for e in ordered],
        "grey": len(grey),
    }
    arrays = {
        "rgb": np.stack([e.rgb for e in ordered]),
        "boxes": np.stack([e.boxes for e in ordered]),
        "homographies": np.stack([e.homographies for e in ordered]),
        "aux_grey": np.stack([e.aux for e in grey]) if grey else np.zeros((0, 2, 1, 1), np.uint8),
        "aux_colour": np.stack([e.aux for e in colour]) if colour else np.zeros((0, 2, 1, 1, 3), np.uint8),
    }
    with open(path, "wb") as handle:
        np.savez_compressed(handle, header=np.array(json.dumps(header)), **arrays)
    return path


def read_pack(path: str | Path) -> tuple[dict, list[DerivedSequence]]:
    """The pack's header and its entries as two-frame sequences the sampler reads."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            arrays = {k: data[k] for k in ("rgb", "boxes", "homographies", "aux_grey", "aux_colour")}
    except (OSError, ValueError, KeyError) as exc:
        raise SequenceError(f"{str(path)!r} is not a readable training pack: {exc}") from exc
    if header.get("format") != PACK_FORMAT:
        raise SequenceError(f"{str(path)!r} is not a training pack (format {header.get('format')!r})")
    aux = list(arrays["aux_grey"]) + list(arrays["aux_colour"])
    sequences = []
    for i, (source, frames) in enumerate(zip(header["sources"], header["frames"], strict=True)):
        rgb, x = arrays["rgb"][i], aux[i]
        name = f"{path.stem}/{i:04d}:{source}:{frames[0]}-{frames[1]}"
        sequences.append(
            DerivedSequence(
                name=name,
                modality=header["modality"],
                rgb_frames=[path, path],  # two frames; their pixels come from the arrays
                aux_frames=[path, path],
                boxes_rgb=arrays["boxes"][i].astype(np.float64),
                homographies=arrays["homographies"][i],
                registered=False,
                extras={"pair": (0, 1)},
                aux_loader=x.__getitem__,
                rgb_loader=rgb.__getitem__,
            )
        )
    return header, sequences
