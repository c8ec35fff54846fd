"""Training pairs as OSTrack samples them, plus the alignment ground truth of each search crop.

A sample: a template crop (no jitter) and a search crop (scale and centre jitter) of one sequence within
`max_gap` frames, both as RGB + X pairs; the target box in the search crop; the true X -> RGB homography of
the search crop in centred normalised units (what the alignment stages must predict); TRE box masks.
The X crops are warped by the homography the tracker would be using (the truth at the template frame,
perturbed), so the residual to learn is the drift and the perturbation — as at inference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from mm_tracker_model.data.augment import Appearance, AppearanceConfig
from mm_tracker_model.data.sequence import Sequence
from mm_tracker_model.engine.crops import normalise
from mm_tracker_model.engine.preprocess import aux_to_rgb, colour_to_rgb, thermal_to_rgb
from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.geometry.boxes import map_box
from mm_tracker_model.geometry.crops import CropTransform, warp_image, warp_into_crop
from mm_tracker_model.presets import NetConfig

FLIP = np.diag([-1.0, 1.0, 1.0])  # horizontal flip in centred normalised crop units


@dataclass(frozen=True)
class SamplerConfig:
    max_gap: int = 100
    scale_jitter: float = 0.25
    centre_jitter: float = 3.0
    brightness: float = 0.2
    flip_probability: float = 0.5
    perturb_px: float = 6.0  # error of the homography the X crops are warped with (X pixels)
    perturb_scale: float = 0.03
    # An extra known warp of the X search crop, in crop units, so the alignment branch sees misalignments of
    # every size (PMATrack's range): shift up to `warp_shift` x the crop per axis, scale in [1/s, s] per axis,
    # rotation up to `warp_rotation_deg`, corner perspective up to `warp_perspective` x the crop. 0: off.
    warp_shift: float = 0.0
    warp_scale: float = 1.0
    warp_rotation_deg: float = 0.0
    warp_perspective: float = 0.0
    # Colour, grayscale, blur, occluders, distractors (data/augment.py); a YAML mapping becomes the dataclass.
    appearance: AppearanceConfig = field(default_factory=AppearanceConfig)
    # Share of negative pairs: the search crop is another sequence's object, so the score map must stay low
    # where the template's target is absent (SiamRPN's negatives; what lets the LOST state trust the score).
    negative_probability: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.appearance, dict):
            object.__setattr__(self, "appearance", AppearanceConfig(**self.appearance))
        if not (0 <= self.warp_shift <= 0.5 and 1 <= self.warp_scale <= 2 and 0 <= self.warp_rotation_deg <= 45):
            raise ValueError("sampler warp: shift in [0, 0.5], scale in [1, 2], rotation in [0, 45] degrees")
        if not 0 <= self.warp_perspective <= 0.1:
            raise ValueError("sampler warp: perspective in [0, 0.1] of the crop")
        if not 0 <= self.negative_probability <= 1:
            raise ValueError("sampler negative_probability must be in [0, 1]")


@dataclass
class Sample:
    template: torch.Tensor  # (6, T, T) normalised
    search: torch.Tensor  # (6, S, S) normalised
    box: torch.Tensor  # (4,) cx, cy, w, h normalised in the search crop
    homography: torch.Tensor  # (3, 3) true X-crop -> RGB-crop map, centred normalised units
    masks: torch.Tensor  # (2, g*g) target masks on the search grid, RGB then X
    # 1: the template's target is in the search crop; 0: a negative pair (`box` is then another object's).
    present: torch.Tensor = field(default_factory=lambda: torch.tensor(1.0))


def aux_as_rgb(image: np.ndarray, modality: str) -> np.ndarray:
    """A stored X frame (8-bit grey/RGB, 16-bit thermal or depth) -> RGB uint8."""
    if image.ndim == 3:
        return colour_to_rgb(image, "rgb8")
    if image.dtype == np.uint16:
        return thermal_to_rgb(image, "16UC1") if modality == "thermal" else aux_to_rgb(image, "depth", "16UC1")[0]
    return colour_to_rgb(image, "mono8")


def box_mask(box: np.ndarray, size: int, grid: int) -> np.ndarray:
    """1 on the grid cells whose centres fall inside `box` (crop pixels)."""
    centres = (np.arange(grid) + 0.5) * size / grid
    x, y, w, h = box
    inside_x = (centres >= x) & (centres <= x + w)
    inside_y = (centres >= y) & (centres <= y + h)
    return (inside_y[:, None] & inside_x[None, :]).astype(np.float32).flatten()


def box_pair_homography(box_rgb: np.ndarray, box_x: np.ndarray) -> np.ndarray:
    """4-DoF X -> RGB map taking the X box onto the RGB box (scale per axis, then translation)."""
    sx, sy = box_rgb[2] / box_x[2], box_rgb[3] / box_x[3]
    cx_rgb, cy_rgb = box_rgb[0] + box_rgb[2] / 2, box_rgb[1] + box_rgb[3] / 2
    cx_x, cy_x = box_x[0] + box_x[2] / 2, box_x[1] + box_x[3] / 2
    return np.array([[sx, 0.0, cx_rgb - sx * cx_x], [0.0, sy, cy_rgb - sy * cy_x], [0.0, 0.0, 1.0]])


def crop_homography(true_x_to_rgb: np.ndarray, used_x_to_rgb: np.ndarray, crop: CropTransform) -> np.ndarray:
    """True map from the X crop (warped with `used`) to the RGB crop, centred normalised units."""
    pixels = crop.matrix @ true_x_to_rgb @ np.linalg.inv(used_x_to_rgb) @ np.linalg.inv(crop.matrix)
    size = crop.output_size
    return hg.pixel_to_centred(size).numpy() @ pixels @ hg.centred_to_pixel(size).numpy()


class PairSampler:
    """Samples training pairs from RGB + X sequences (synthetic, pseudo-X, registered or unregistered real)."""

    def __init__(
        self, sequences: list, net_config: NetConfig, config: SamplerConfig | None = None, min_frames: int = 2
    ) -> None:
        self.sequences = [s for s in sequences if len(self.frames_of(s)) >= min_frames]
        if not self.sequences:
            raise ValueError("no sequence with an X stream, an alignment truth and two annotated frames")
        self.net, self.config = net_config, config or SamplerConfig()
        self.appearance = Appearance(self.config.appearance)

    @staticmethod
    def nearby_pair(frames: np.ndarray, max_gap: int, rng: np.random.Generator) -> tuple[int, int]:
        """A random template frame and a search frame at most `max_gap` frames from it."""
        template = int(rng.choice(frames))
        return template, int(rng.choice(frames[np.abs(frames - template) <= max_gap]))

    @staticmethod
    def frames_of(sequence) -> np.ndarray:
        """The frames a pair can be drawn from (none without an X stream or an alignment truth)."""
        base = PairSampler._base(sequence)
        has_x = base.aux_frames is not None or hasattr(sequence, "as_sequence")
        alignable = base.homographies is not None or base.registered or base.boxes_aux is not None
        return base.annotated_frames() if has_x and alignable else np.array([], int)

    def true_homographies(self, base: Sequence, frames: tuple[int, int], rng) -> tuple[list, np.ndarray]:
        """True X -> RGB maps of the two frames, and the map from the stored X image to the X the net sees.

        Synthetic and pseudo-X data carry exact homographies. Registered real data (X already aligned) gets
        a random synthetic warp W, applied virtually: the net's X is the stored X seen through W^-1.
        Unregistered real data gets the 4-DoF map between its RGB and X boxes, as PMATrack does.
        """
        if base.homographies is not None:
            return [base.homographies[f] for f in frames], np.eye(3)
        if base.registered:
            warp = self._perturbation(rng, strength=3.0)
            return [warp, warp], np.linalg.inv(warp)
        return [box_pair_homography(base.boxes_rgb[f], base.boxes_aux[f]) for f in frames], np.eye(3)

    def sample(self, rng: np.random.Generator) -> Sample:
        cfg, net = self.config, self.net
        sequence = self.sequences[rng.integers(len(self.sequences))]
        base = self._base(sequence)
        if "pair" in base.extras:  # a packed entry: its template and search frame are fixed
            template_frame, search_frame = base.extras["pair"]
        else:
            template_frame, search_frame = self.nearby_pair(self.frames_of(sequence), cfg.max_gap, rng)
        (true_template, true_search), stored_to_x = self.true_homographies(base, (template_frame, search_frame), rng)
        used = true_template @ self._perturbation(rng)
        template_to_x = true_template @ stored_to_x
        negative = cfg.negative_probability > 0 and rng.random() < cfg.negative_probability
        search_sequence, search_base = sequence, base
        if negative:
            search_sequence = self._other_sequence(sequence, rng)
            search_base = self._base(search_sequence)
            search_frame = int(rng.choice(self.frames_of(search_sequence)))
            (true_search, _), stored_to_x = self.true_homographies(search_base, (search_frame, search_frame), rng)
            used = true_search @ self._perturbation(rng)
        template_box, search_box = base.boxes_rgb[template_frame], search_base.boxes_rgb[search_frame]

        template_crop = CropTransform.around(tuple(template_box), net.template_factor, net.template_size)
        jittered = self._jitter(search_box, rng)
        search_crop = CropTransform.around(tuple(jittered), net.search_factor, net.search_size)

        size = net.search_size
        template = self._pair(sequence, base, template_frame, template_crop, template_to_x)
        truth = crop_homography(true_search, used, search_crop)
        # The X search crop seen through the extra warp E (new X crop -> X crop, centred units).
        extra = self._crop_warp(rng)
        extra_px = hg.centred_to_pixel(size).numpy() @ extra @ hg.pixel_to_centred(size).numpy()
        seen = np.linalg.inv(search_crop.matrix) @ np.linalg.inv(extra_px) @ search_crop.matrix @ used
        search = self._pair(search_sequence, search_base, search_frame, search_crop, seen @ stored_to_x)
        truth = truth @ extra

        corner = search_crop.matrix @ [search_box[0], search_box[1], 1.0]
        box_px = np.array([corner[0], corner[1], search_box[2] * search_crop.scale, search_box[3] * search_crop.scale])
        # The target in the X crop: the RGB-crop box mapped back through the true crop homography.
        pixels_truth = hg.centred_to_pixel(size).numpy() @ truth @ hg.pixel_to_centred(size).numpy()
        box_x_px = map_box(box_px, np.linalg.inv(pixels_truth))
        box = np.array([box_px[0] + box_px[2] / 2, box_px[1] + box_px[3] / 2, box_px[2], box_px[3]]) / size

        if rng.random() < cfg.flip_probability:
            template, search = template[:, :, ::-1], search[:, :, ::-1]
            box[0] = 1.0 - box[0]
            truth = FLIP @ truth @ FLIP
            box_px = np.array([size - box_px[0] - box_px[2], *box_px[1:]])
            box_x_px = np.array([size - box_x_px[0] - box_x_px[2], *box_x_px[1:]])
        template, search = self._brightness(template, rng), self._brightness(search, rng)
        distractor = self._distractor(sequence, box_px, rng) if self.appearance.wants_distractor else None
        template, search = self.appearance(template, search, box_px, rng, distractor)
        grid = net.search_grid
        masks = np.stack([box_mask(box_px, size, grid), box_mask(box_x_px, size, grid)])
        return Sample(
            template=normalise(torch.from_numpy(np.ascontiguousarray(template)).unsqueeze(0))[0],
            search=normalise(torch.from_numpy(np.ascontiguousarray(search)).unsqueeze(0))[0],
            box=torch.from_numpy(box).float(),
            homography=torch.from_numpy(truth).float(),
            masks=torch.from_numpy(masks),
            present=torch.tensor(0.0 if negative else 1.0),
        )

    @staticmethod
    def _base(sequence) -> Sequence:
        return sequence.as_sequence() if hasattr(sequence, "as_sequence") else sequence

    def _other_sequence(self, current, rng: np.random.Generator):
        """A random sequence other than `current` (itself when it is the only one)."""
        choices = [s for s in self.sequences if s is not current] or self.sequences
        return choices[rng.integers(len(choices))]

    def _distractor(self, current, box_px: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(6, h, w) uint8: the target of a random frame of another sequence than `current` (where there is
        one), RGB and X, at about the size of the search crop's target."""
        sequence = self._other_sequence(current, rng)
        base = self._base(sequence)
        frame = int(rng.choice(self.frames_of(sequence)))
        x, y, w, h = base.boxes_rgb[frame]
        scale = rng.uniform(0.7, 1.3)
        width = int(np.clip(box_px[2] * scale, 4, self.net.search_size // 2))
        height = int(np.clip(box_px[3] * scale, 4, self.net.search_size // 2))
        to_patch = np.array([[width / w, 0, -x * width / w], [0, height / h, -y * height / h], [0, 0, 1.0]])
        (x_to_rgb, _), stored_to_x = self.true_homographies(base, (frame, frame), rng)
        rgb = warp_image(sequence.load_rgb(frame), to_patch, width, height)
        aux = aux_as_rgb(sequence.load_aux(frame), base.modality)
        x_patch = warp_image(aux, to_patch @ x_to_rgb @ stored_to_x, width, height)
        return np.concatenate([rgb, x_patch], axis=2).transpose(2, 0, 1)

    def _perturbation(self, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
        cfg = self.config
        scale = np.exp(rng.normal(0, cfg.perturb_scale * strength, size=2))
        shift = rng.normal(0, cfg.perturb_px * strength, size=2)
        return np.array([[scale[0], 0, shift[0]], [0, scale[1], shift[1]], [0, 0, 1]])

    def _crop_warp(self, rng: np.random.Generator) -> np.ndarray:
        """A random known warp in centred crop units (identity when the config turns it off)."""
        cfg = self.config
        if not (cfg.warp_shift or cfg.warp_scale > 1 or cfg.warp_rotation_deg or cfg.warp_perspective):
            return np.eye(3)
        # Magnitudes drawn towards small values as well: drifts are mostly small, sometimes large.
        shift = rng.uniform(-1, 1, size=2) * cfg.warp_shift * rng.random()
        scale = np.exp(rng.uniform(-1, 1, size=2) * np.log(cfg.warp_scale))
        angle = np.radians(rng.uniform(-1, 1) * cfg.warp_rotation_deg)
        cos, sin = np.cos(angle), np.sin(angle)
        similar = np.array([[scale[0] * cos, -scale[1] * sin, shift[0]], [scale[0] * sin, scale[1] * cos, shift[1]]])
        matrix = np.vstack([similar, [0.0, 0.0, 1.0]])
        if cfg.warp_perspective:
            corners = hg.UNIT_CORNERS.double()
            moved = corners + torch.from_numpy(rng.uniform(-1, 1, size=(4, 2)) * cfg.warp_perspective)
            matrix = matrix @ hg.corners_to_matrix(corners, moved).numpy()
        return matrix / matrix[2, 2]

    def _jitter(self, box: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cfg = self.config
        x, y, w, h = box
        scale = np.exp(rng.normal(0, 1, size=2) * cfg.scale_jitter)
        w_j, h_j = w * scale[0], h * scale[1]
        offset = np.sqrt(w_j * h_j) * cfg.centre_jitter * (rng.random(2) - 0.5)
        cx, cy = x + w / 2 + offset[0], y + h / 2 + offset[1]
        return np.array([cx - w_j / 2, cy - h_j / 2, w_j, h_j])

    def _brightness(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        factor = rng.uniform(1 - self.config.brightness, 1 + self.config.brightness, size=(images.shape[0], 1, 1))
        return np.clip(images.astype(np.float32) * factor, 0, 255).astype(np.uint8)

    @staticmethod
    def _pair(sequence, base: Sequence, frame: int, crop: CropTransform, x_to_rgb: np.ndarray) -> np.ndarray:
        """(6, S, S) uint8: the RGB crop and the stored X frame seen through `x_to_rgb` (X -> RGB pixels)."""
        rgb = warp_into_crop(sequence.load_rgb(frame), crop.matrix, crop.output_size)
        aux = aux_as_rgb(sequence.load_aux(frame), base.modality)
        x = warp_into_crop(aux, crop.matrix @ x_to_rgb, crop.output_size)
        return np.concatenate([rgb, x], axis=2).transpose(2, 0, 1)


def collate(samples: list[Sample]) -> dict[str, torch.Tensor]:
    return {
        "template": torch.stack([s.template for s in samples]),
        "search": torch.stack([s.search for s in samples]),
        "box": torch.stack([s.box for s in samples]),
        "homography": torch.stack([s.homography for s in samples]),
        "masks": torch.stack([s.masks for s in samples]),
        "present": torch.stack([s.present for s in samples]),
    }
