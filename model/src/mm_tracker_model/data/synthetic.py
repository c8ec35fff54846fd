"""Seeded procedural RGB + X sequences with exact ground truth, written in a documented layout.

Layout of `mm-tracker-synth --out DIR` (read back with `read_sequence(DIR/seq_NNNN, "synthetic")`):

    DIR/manifest.json            generator version, modality, seed, sizes, sequence names
    DIR/seq_NNNN/visible/        RGB frames, 000001.png ...
    DIR/seq_NNNN/aux/            X frames: thermal 8-bit grey, depth 16-bit millimetres, event RGB frames
    DIR/seq_NNNN/visible.txt     target box per frame in RGB pixels: x,y,w,h (0-based, pixel centres at i + 0.5)
    DIR/seq_NNNN/aux.txt         the same target in X pixels (bounds of the RGB box mapped through H^-1)
    DIR/seq_NNNN/homography.txt  X -> RGB homography per frame, 9 values row-major
    DIR/seq_NNNN/meta.json       modality, sizes, seed, the sequence's random parameters

Misalignment: a base X->RGB map (resolution change + mounting offset, small rotation, mild perspective),
slow drift of offset and scale, and per-frame vibration jitter. Scene: a textured background seen by a
moving camera, the target (scale and aspect change), look-alike distractors and an occluder that crosses it.
Same seed, same bytes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from mm_tracker_model.data.annotations import read_boxes
from mm_tracker_model.data.misalignment import Misalignment
from mm_tracker_model.data.sequence import Sequence, list_frames
from mm_tracker_model.geometry.boxes import map_box
from mm_tracker_model.geometry.crops import warp_image
from mm_tracker_model.modalities import MODALITIES

GENERATOR = "mm_tracker synthetic/1"
AUX_ENCODING = {"thermal": "mono8", "depth": "16UC1", "event": "rgb8"}


@dataclass(frozen=True)
class SynthConfig:
    modality: str = "thermal"
    frames: int = 60
    rgb_size: tuple[int, int] = (320, 240)
    x_size: tuple[int, int] = (256, 208)
    seed: int = 0
    drift_px: float = 10.0  # amplitude of the slow offset drift, X pixels
    jitter_px: float = 0.6  # vibration, RGB pixels
    distractors: int = 2
    occlusion: bool = True


@dataclass
class _Object:
    cx: float
    cy: float
    w: float
    h: float
    vx: float
    vy: float
    texture: np.ndarray  # (16, 16, 3) uint8
    temperature: float  # 0..1 thermal brightness
    depth_m: float


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int, channels: int) -> np.ndarray:
    coarse = rng.normal(0, 1, size=(max(2, height // cells), max(2, width // cells), channels)).astype(np.float32)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC).reshape(height, width, channels)


def _draw(canvas: np.ndarray, obj: _Object, value) -> None:
    x0, y0 = round(obj.cx - obj.w / 2), round(obj.cy - obj.h / 2)
    x1, y1 = round(obj.cx + obj.w / 2), round(obj.cy + obj.h / 2)
    h, w = canvas.shape[:2]
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    if isinstance(value, np.ndarray):  # a texture, stretched over the whole object then clipped
        patch = cv2.resize(value, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        canvas[cy0:cy1, cx0:cx1] = patch[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    else:
        canvas[cy0:cy1, cx0:cx1] = value


class SceneGenerator:
    """Renders one sequence frame by frame; every random choice comes from the sequence's own generator."""

    def __init__(self, cfg: SynthConfig, index: int) -> None:
        if cfg.modality not in MODALITIES:
            raise ValueError(f"modality {cfg.modality!r} unknown; known: {', '.join(MODALITIES)}")
        self.cfg = cfg
        self.rng = np.random.default_rng([cfg.seed, index])
        rng, (width, height) = self.rng, cfg.rgb_size
        self.background = np.clip(110 + 45 * _smooth_noise(rng, 2 * height, 2 * width, 24, 3), 0, 255).astype(np.uint8)
        self.background_heat = 0.25 + 0.05 * _smooth_noise(rng, 2 * height, 2 * width, 64, 1)[..., 0]
        self.background_depth = (
            6.0 + 2.0 * np.linspace(0, 1, 2 * height, dtype=np.float32)[:, None] + np.zeros((1, 2 * width), np.float32)
        )
        self.camera = np.array([width / 2, height / 2])
        self.camera_velocity = rng.normal(0, 0.8, size=2)

        def new_object(temperature: float, depth: float) -> _Object:
            size = rng.uniform(0.08, 0.2) * min(width, height)
            return _Object(
                cx=rng.uniform(0.3, 0.7) * width,
                cy=rng.uniform(0.3, 0.7) * height,
                w=size * rng.uniform(0.7, 1.4),
                h=size * rng.uniform(0.7, 1.4),
                vx=rng.normal(0, 2.0),
                vy=rng.normal(0, 1.5),
                texture=rng.integers(40, 255, size=(16, 16, 3), dtype=np.uint8),
                temperature=temperature,
                depth_m=depth,
            )

        self.target = new_object(rng.uniform(0.75, 0.95), rng.uniform(2.0, 4.0))
        self.distractors = [new_object(rng.uniform(0.4, 0.7), rng.uniform(2.0, 5.0)) for _ in range(cfg.distractors)]
        for d in self.distractors:  # look-alikes: a perturbed copy of the target's texture
            d.texture = np.clip(
                self.target.texture.astype(int) + rng.integers(-30, 30, size=(16, 16, 3)), 0, 255
            ).astype(np.uint8)
        self.occluder = new_object(0.2, 1.5) if cfg.occlusion else None
        if self.occluder is not None:
            self.occluder.w, self.occluder.h = 0.08 * width, 0.9 * height
            self.occluder.cx, self.occluder.cy, self.occluder.vy = -0.1 * width, height / 2, 0.0
            self.occluder.vx = 1.2 * width / max(cfg.frames, 1)
        self.misalignment = Misalignment.sample(rng, cfg.rgb_size, cfg.x_size, cfg.drift_px, cfg.jitter_px)
        self.previous_rgb: np.ndarray | None = None

    def _step(self) -> None:
        width, height = self.cfg.rgb_size
        for obj in [self.target, *self.distractors]:
            obj.vx += self.rng.normal(0, 0.3)
            obj.vy += self.rng.normal(0, 0.3)
            obj.cx = float(np.clip(obj.cx + obj.vx, 0.15 * width, 0.85 * width))
            obj.cy = float(np.clip(obj.cy + obj.vy, 0.15 * height, 0.85 * height))
            obj.vx, obj.vy = (
                -obj.vx if not 0.16 * width < obj.cx < 0.84 * width else obj.vx,
                -obj.vy if not 0.16 * height < obj.cy < 0.84 * height else obj.vy,
            )
        # Scale and aspect change of the target.
        self.target.w *= float(np.exp(self.rng.normal(0, 0.01)))
        self.target.h *= float(np.exp(self.rng.normal(0, 0.01)))
        self.target.w = float(np.clip(self.target.w, 0.05 * width, 0.35 * width))
        self.target.h = float(np.clip(self.target.h, 0.05 * height, 0.35 * height))
        if self.occluder is not None:
            self.occluder.cx += self.occluder.vx
        self.camera = np.clip(self.camera + self.camera_velocity, [width / 2, height / 2], [1.5 * width, 1.5 * height])

    def _view(self, image: np.ndarray) -> np.ndarray:
        width, height = self.cfg.rgb_size
        x0, y0 = (int(v) for v in self.camera - [width / 2, height / 2])
        return image[y0 : y0 + height, x0 : x0 + width].copy()

    def frame(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """RGB frame, X frame (as stored), target box in RGB pixels, X->RGB homography."""
        if t > 0:
            self._step()
        objects = sorted([self.target, *self.distractors], key=lambda o: -o.depth_m)
        if self.occluder is not None:
            objects.append(self.occluder)  # nearest, drawn last
        rgb = self._view(self.background)
        heat = self._view(self.background_heat)
        depth = self._view(self.background_depth)
        for obj in objects:
            _draw(rgb, obj, obj.texture if obj is not self.occluder else np.full((16, 16, 3), 60, np.uint8))
            _draw(heat, obj, obj.temperature)
            _draw(depth, obj, obj.depth_m)
        box = np.array(
            [self.target.cx - self.target.w / 2, self.target.cy - self.target.h / 2, self.target.w, self.target.h]
        )
        homography = self.misalignment.homography(t)
        in_rgb_frame = self._modality_image(rgb, heat, depth)
        self.previous_rgb = rgb
        x_width, x_height = self.cfg.x_size
        aux = warp_image(in_rgb_frame, np.linalg.inv(homography), x_width, x_height)
        return rgb, aux, box, homography

    def _modality_image(self, rgb: np.ndarray, heat: np.ndarray, depth: np.ndarray) -> np.ndarray:
        if self.cfg.modality == "thermal":
            smooth = cv2.GaussianBlur(heat, (0, 0), 1.5)
            noisy = smooth + self.rng.normal(0, 0.015, size=smooth.shape).astype(np.float32)
            return np.clip(noisy * 255, 0, 255).astype(np.uint8)
        if self.cfg.modality == "depth":
            return np.clip(depth * 1000, 0, 65535).astype(np.uint16)
        return event_frame(self.previous_rgb if self.previous_rgb is not None else rgb, rgb)


def event_frame(previous_rgb: np.ndarray, rgb: np.ndarray, threshold: float = 0.15) -> np.ndarray:
    """Thresholded log-intensity change between two frames: white, ON red, OFF blue (VisEvent's colours)."""

    def log_intensity(image: np.ndarray) -> np.ndarray:
        return np.log1p(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32))

    change = log_intensity(rgb) - log_intensity(previous_rgb)
    frame = np.full_like(rgb, 255)
    frame[change > threshold] = (255, 0, 0)
    frame[change < -threshold] = (0, 0, 255)
    return frame


def _write_image(path: Path, image: np.ndarray) -> None:
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    # Fixed PNG settings so the same seed writes the same bytes.
    cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 3])


def _rows(values: np.ndarray) -> str:
    return "".join(",".join(f"{v:.17g}" for v in row) + "\n" for row in values)  # exact float64


def write_sequence(out: Path, cfg: SynthConfig, index: int) -> Path:
    folder = out / f"seq_{index:04d}"
    (folder / "visible").mkdir(parents=True, exist_ok=True)
    (folder / "aux").mkdir(exist_ok=True)
    scene = SceneGenerator(cfg, index)
    boxes, boxes_x, homographies = [], [], []
    for t in range(cfg.frames):
        rgb, aux, box, homography = scene.frame(t)
        _write_image(folder / "visible" / f"{t + 1:06d}.png", rgb)
        _write_image(folder / "aux" / f"{t + 1:06d}.png", aux)
        boxes.append(box)
        boxes_x.append(map_box(box, np.linalg.inv(homography)))
        homographies.append(homography.flatten())
    (folder / "visible.txt").write_text(_rows(np.array(boxes)))
    (folder / "aux.txt").write_text(_rows(np.array(boxes_x)))
    (folder / "homography.txt").write_text(_rows(np.array(homographies)))
    meta = {"modality": cfg.modality, "index": index, "config": asdict(cfg), "misalignment": asdict(scene.misalignment)}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
    return folder


def generate(out: Path, cfg: SynthConfig, sequences: int, progress: bool = False) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    indices = tqdm(range(sequences), desc="sequences", disable=not progress)
    folders = [write_sequence(out, cfg, i) for i in indices]
    manifest = {"generator": GENERATOR, "config": asdict(cfg), "sequences": [f.name for f in folders]}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return folders


def read_synthetic(folder: Path) -> Sequence:
    """A sequence written by `write_sequence`."""
    meta = json.loads((folder / "meta.json").read_text())
    homographies = np.loadtxt(folder / "homography.txt", delimiter=",", ndmin=2).reshape(-1, 3, 3)
    return Sequence(
        name=folder.name,
        modality=meta["modality"],
        rgb_frames=list_frames(folder / "visible"),
        boxes_rgb=read_boxes(folder / "visible.txt"),
        aux_frames=list_frames(folder / "aux"),
        boxes_aux=read_boxes(folder / "aux.txt"),
        homographies=homographies,
        extras={"meta": meta},
    )
