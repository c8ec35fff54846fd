"""Per-frame RGB+X tracker: crops composed with the homography, the network, Hann window, TOCU, guards.

Homographies at this level map X *image* pixels to RGB *image* pixels (float64 numpy, our pixel convention).
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import torch

from mm_tracker_model.engine import publish
from mm_tracker_model.engine.crops import CropPair, crop_pair, pair_tensor
from mm_tracker_model.errors import EngineInputError
from mm_tracker_model.geometry import boxes as bx
from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.geometry.crops import CropTransform
from mm_tracker_model.nn.alignment.stage import EXPERT_NAMES
from mm_tracker_model.nn.head import boxes_from_maps
from mm_tracker_model.nn.inference import inference_copy
from mm_tracker_model.nn.tracker_net import EmbeddedTemplate, TrackerNet

PRECISIONS = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}
INT8_CHOICES = ("auto", "always", "never")  # not on/off: YAML (and so ROS parameters) reads those as booleans
# Refuse a homography whose condition number says it is (numerically) singular.
MAX_CONDITION = 1e8


class TrackState(IntEnum):
    IDLE = 0
    TRACKING = 1
    LOST = 2


@dataclass(frozen=True)
class EngineConfig:
    device: str = "cpu"
    precision: str = "fp32"
    # Track with an inference copy of a TrackerNet (BatchNorms folded, head branches merged; the same outputs
    # to float rounding, tested) and reuse each template's tokens until the template changes.
    fused: bool = True
    # The inference copy's ViT linear layers in int8 (weights, and activations quantised per call; the CPU in
    # fp32 only): "auto" uses it wherever it can run, "always" insists, "never" keeps float. Chosen by measurement
    # (README, "Int8 linear layers"): 10-15 % more FPS on this CPU, SR within the closed loop's run-to-run spread.
    int8: str = "auto"
    tocu_alpha: float = 0.5  # Hann-weighted peak score above which TOCU may run
    tocu_beta: float = 0.7  # IoU with the initial box a TOCU candidate must reach
    tocu_every: int = 10  # run TOCU at most every N frames (its forward costs more than a frame's)
    # An accepted TOCU also replaces the running homography (PMATrack). Off by default: on real validation
    # sequences its accepted updates doubled the corner error (README, "Online compensation").
    tocu_homography: bool = False
    lost_score: float = 0.2
    lost_patience: int = 10  # frames under lost_score before the state becomes LOST
    max_corner_shift: float = 0.25  # guard: fraction of the X image diagonal H's corners may move from calibration
    clip_margin: float = 10.0
    # Size damping, as Siamese trackers do: the size may change by at most this factor per frame (0: unbounded),
    # and moves towards the network's estimate by size_lr x score (1.0: straight to it). Chosen on real
    # sequences neither trained on nor held out (model card): SR 0.453 undamped -> 0.514.
    max_scale_change: float = 1.1
    size_lr: float = 0.5
    # The Hann window's weight on the score map: score x ((1 - w) + w hann); 1 is OSTrack's full window.
    window_influence: float = 1.0
    # While LOST the search region widens by this factor (up to twice) to find the target again.
    lost_search_scale: float = 1.0
    online_alignment: bool = True  # False: keep the calibration homography (the network's estimate is ignored)
    # Online compensation: on each frame whose estimate passes the guard and scores at least global_min_score,
    # the rig's running homography moves global_rate of the way (in corner positions) to that estimate, so the
    # next crops are warped by it. 0: only an accepted TOCU moves it.
    global_rate: float = 0.0
    global_min_score: float = 0.3
    # The published homography moves publish_rate of the way (corner positions) from the last published one to
    # this frame's estimate: a temporal low-pass of the per-frame estimates (1: each frame's own estimate).
    publish_rate: float = 0.1
    # Each frame's correction of H_global, scaled in corner positions before the guard: the estimate applies
    # about 0.73 of the needed correction (tools/alignment_fixed_point.py), so a gain above 1 undoes the
    # shrinkage (and scales the estimate's noise and bias with it). 1: as estimated.
    estimate_gain: float = 1.0
    # Share of each frame's correction beyond the shift it gives the search centre that is published (0: the
    # shift only, 1: the whole correction). Measured (README, "What of each estimate is published"): drone and
    # synthetic validation footage publishes better with less of the estimated scale, the other real sequences
    # with all of it; 1 was chosen on the 17 real sequences that are not held out (tools/publish_rules.py).
    linear_weight: float = 1.0
    # Estimate the misalignment on every N-th frame only; the frames between reuse the last estimate's residuals
    # (the streams still read each other through them): the rig drifts over seconds. Chosen by measurement
    # (README, "Alignment every N frames"): about 20 % more FPS on this CPU, SR within 0.005. 1: every frame.
    alignment_every: int = 3

    @property
    def _int8_possible(self) -> bool:
        quantized_kernels = torch.backends.quantized.engine != "none"  # a torch built without them
        return self.fused and self.device == "cpu" and self.precision == "fp32" and quantized_kernels

    @property
    def uses_int8(self) -> bool:
        """Whether the engine tracks with int8 linear layers (`int8` resolved for this device)."""
        return self.int8 == "always" or (self.int8 == "auto" and self._int8_possible)

    def __post_init__(self) -> None:
        problems = []
        if self.precision not in PRECISIONS:
            problems.append(f"precision {self.precision!r} unknown; known: {', '.join(PRECISIONS)}")
        if self.precision != "fp32" and not self.device.startswith("cuda"):
            problems.append(f"precision {self.precision!r} needs a CUDA device, got {self.device!r}")
        for name in (
            "tocu_alpha",
            "tocu_beta",
            "lost_score",
            "window_influence",
            "global_rate",
            "global_min_score",
            "linear_weight",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} {getattr(self, name)} outside [0, 1]")
        if not 0.5 <= self.estimate_gain <= 3.0:
            problems.append(f"estimate_gain {self.estimate_gain} outside [0.5, 3]")
        if not 0.0 < self.publish_rate <= 1.0:
            problems.append(f"publish_rate {self.publish_rate} outside (0, 1]")
        if self.int8 not in INT8_CHOICES:
            problems.append(f"int8 {self.int8!r} unknown; known: {', '.join(INT8_CHOICES)}")
        elif self.int8 == "always" and not self._int8_possible:
            problems.append(
                "int8 'always' needs the fused inference copy on the CPU in fp32 and a torch with quantized kernels"
                " (use 'auto' elsewhere)"
            )
        if self.tocu_every < 1 or self.lost_patience < 1 or self.alignment_every < 1:
            problems.append("tocu_every, lost_patience and alignment_every must be >= 1")
        if not (self.max_scale_change == 0.0 or self.max_scale_change >= 1.0):
            problems.append(f"max_scale_change {self.max_scale_change} must be 0 (unbounded) or >= 1")
        if not 0.0 < self.size_lr <= 1.0 or self.lost_search_scale < 1.0:
            problems.append(
                f"size_lr {self.size_lr} must be in (0, 1], lost_search_scale {self.lost_search_scale} >= 1"
            )
        if not self.max_corner_shift > 0:
            problems.append(f"max_corner_shift {self.max_corner_shift} must be > 0")
        if problems:
            raise EngineInputError("engine config: " + "; ".join(problems))


@dataclass
class TrackResult:
    box: np.ndarray  # (x, y, w, h) RGB image pixels
    box_x: np.ndarray | None  # the same target in X image pixels (None in RGB-only mode)
    score: float  # Hann-weighted peak score
    state: TrackState
    global_homography: np.ndarray  # H_global after this frame (the rig's running estimate), X -> RGB image pixels
    frame_homography: np.ndarray  # the published estimate: H_delta · H_global (linear_weight), low-passed
    stage_params: list[list[float]]
    experts: list[str]
    confidence: float
    tocu_updated: bool
    degraded: tuple[str, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class EngineStats:
    """What the engine decided over its life (reported in /diagnostics); degradations are counted by the caller."""

    tocu_attempts: int = 0
    tocu_accepted: int = 0
    guard_rejections: int = 0
    lost_events: int = 0
    alignment_estimates: int = 0  # frames with X whose alignment stages estimated (the rest reused one)
    alignment_reused: int = 0


def hann2d(size: int) -> torch.Tensor:
    """OSTrack's window: hann1d(k) = 0.5 (1 - cos(2 pi k / (n + 1))), k = 1..n, outer product."""
    k = torch.arange(1, size + 1, dtype=torch.float64)
    window = 0.5 * (1 - torch.cos(2 * math.pi * k / (size + 1)))
    return (window[:, None] * window[None, :]).float()


def check_rgb(rgb: np.ndarray, what: str = "rgb") -> None:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or rgb.size == 0:
        desc = f"{rgb.dtype} {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise EngineInputError(f"{what}: expected a non-empty (H, W, 3) uint8 image, got {desc}")


def check_homography(matrix: np.ndarray, what: str) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (3, 3) or not np.isfinite(matrix).all():
        raise EngineInputError(f"{what}: expected a finite 3x3 matrix, got {matrix.tolist()}")
    if np.linalg.cond(matrix) > MAX_CONDITION:
        raise EngineInputError(f"{what} is not invertible (condition number {np.linalg.cond(matrix):.3g})")
    return matrix / matrix[2, 2]


class Tracker:
    """Single-object RGB+X tracker around a TrackerNet (or anything returning its NetOutput)."""

    def __init__(self, net: torch.nn.Module, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.device = torch.device(self.config.device)
        if self.config.fused and isinstance(net, TrackerNet):
            # the caller's network (a training run's, say) stays as it is
            net = inference_copy(net, int8=self.config.uses_int8)
        self.net = net.to(self.device).eval()
        self._template_tokens: dict[int, tuple[torch.Tensor, EmbeddedTemplate]] = {}
        self.net_config = net.config
        influence = self.config.window_influence
        self.hann = (1.0 - influence + influence * hann2d(self.net_config.search_grid)).to(self.device)
        self.stats = EngineStats()
        self.state = TrackState.IDLE
        self._autocast_dtype = PRECISIONS[self.config.precision]

    def initialize(self, rgb: np.ndarray, x: np.ndarray | None, box, homography: np.ndarray | None = None) -> None:
        """Start tracking `box` (x, y, w, h RGB pixels); `homography` maps X to RGB pixels (calibration).

        `x=None` starts an RGB-only target (no X camera): RGB stands in for X in the template and every frame,
        which with a converted single-modality tracker computes exactly that tracker.
        """
        check_rgb(rgb)
        if not bx.is_valid_box(box):
            raise EngineInputError(f"initial box {list(box)} is degenerate: need finite x, y and w, h > 0")
        if not bx.overlaps_image(box, rgb.shape[1], rgb.shape[0]):
            raise EngineInputError(f"initial box {list(box)} lies outside the {rgb.shape[1]}x{rgb.shape[0]} image")
        self.h_calibration = check_homography(np.eye(3) if homography is None else homography, "initial homography")
        self.h_global = self.h_calibration.copy()
        self.h_published = self.h_global.copy()
        # The last alignment estimate: the X frame count at it, its stage outputs and the running homography it
        # refined. RGB-only frames (a late X camera) neither use nor replace it: they do not count.
        self._estimate: tuple[int, list, np.ndarray] | None = None
        self._x_frames = 0
        x, degraded = self._usable_aux(x)
        if degraded:
            raise EngineInputError(f"initialize needs a valid X image ({degraded[0]})")
        self.rgb_only = x is None
        if self.rgb_only:
            x, self.h_global = rgb, np.eye(3)
        self.box = np.asarray(box, dtype=np.float64)
        self.initial_box = self.box.copy()
        self.x_size = (x.shape[1], x.shape[0])
        cfg = self.net_config
        template = crop_pair(rgb, x, self.box, cfg.template_factor, cfg.template_size, self.h_global)
        self.template = pair_tensor(template, self.device)
        self.template_rgb_only = pair_tensor(CropPair(template.rgb, template.rgb, template.crop), self.device)
        self.dynamic_template: torch.Tensor | None = None
        self.initial_search = crop_pair(rgb, x, self.box, cfg.search_factor, cfg.search_size, self.h_global)
        self.initial_search_tensor = pair_tensor(self.initial_search, self.device)
        self.frame_index = 0
        self.last_tocu = -(10**9)
        self.low_score_frames = 0
        self.state = TrackState.TRACKING

    def initial_result(self) -> TrackResult:
        """The initialisation frame's result: the given box under the calibration, without a forward pass.

        Tracking the template's own frame again biases the first box (measured: a 27x31 box came back 39x38, and
        the error compounded), so callers report this for the init frame and track from the next one.
        """
        return TrackResult(
            box=self.initial_box.copy(),
            box_x=None if self.rgb_only else bx.map_box(self.initial_box, np.linalg.inv(self.h_global)),
            score=1.0,
            state=TrackState.TRACKING,
            global_homography=self.h_global.copy(),
            frame_homography=self.h_global.copy(),
            stage_params=[],
            experts=[],
            confidence=1.0,
            tocu_updated=False,
            degraded=(),
        )

    def reset_alignment(self) -> None:
        """Back to the calibration homography; the dynamic template (built under the old H) is dropped."""
        self.h_global = self.h_calibration.copy()
        self.h_published = self.h_global.copy()
        self.dynamic_template = None
        self._estimate = None

    def track(self, rgb: np.ndarray, x: np.ndarray | None) -> TrackResult:
        """Track one synchronised pair; `x=None` (missing or stale X) runs the RGB-only degraded mode."""
        if self.state == TrackState.IDLE:
            raise EngineInputError("track() before initialize(): give the tracker a target box first")
        check_rgb(rgb)
        timings: dict[str, float] = {}
        start = time.perf_counter()
        x, degraded = self._usable_aux(None if self.rgb_only else x)
        cfg = self.net_config
        self.frame_index += 1
        rgb_only = x is None
        search = crop_pair(
            rgb,
            rgb if rgb_only else x,
            self.box,
            cfg.search_factor * self._search_scale(),
            cfg.search_size,
            np.eye(3) if rgb_only else self.h_global,
        )
        templates = self._templates(rgb_only)
        search_tensor = pair_tensor(search, self.device)
        timings["preprocess"] = _elapsed_ms(start)

        start = time.perf_counter()
        self._x_frames += not rgb_only
        reuse = self._reusable_estimate(rgb_only)
        output = self._forward(templates, search_tensor, reuse_stages=reuse)
        timings["forward"] = _elapsed_ms(start)
        if output.alignment is not None and not rgb_only:
            if reuse is None:
                self._estimate = (self._x_frames, output.alignment.stages, self.h_global.copy())
                self.stats.alignment_estimates += 1
            else:
                self.stats.alignment_reused += 1

        start = time.perf_counter()
        search_centre = self.box[:2] + self.box[2:] / 2
        packed = self._pack(output)  # one device -> host copy per frame
        box, score, h_crop, stage_params, experts, confidence = self._unpack(packed, output)
        damped = self._damped(search.crop.box_to_image(box), score)
        self.box = bx.clip_box(damped, rgb.shape[1], rgb.shape[0], self.config.clip_margin)
        frame_h = self.h_global
        if not rgb_only and h_crop is not None and self.config.online_alignment:
            candidate = self._image_homography(h_crop, search.crop) @ self.h_global
            if self.config.estimate_gain != 1.0:
                candidate = self._blend(self.h_global, candidate, self.config.estimate_gain)
            if self._passes_guard(candidate):
                frame_h = candidate / candidate[2, 2]
                if self.config.global_rate and score >= self.config.global_min_score:
                    self.h_global = self._blend(self.h_global, frame_h, self.config.global_rate)
            else:
                degraded.append("homography_rejected")
        self._update_state(score)
        timings["postprocess"] = _elapsed_ms(start)

        start = time.perf_counter()
        tocu_updated = False
        if (
            not rgb_only
            and score > self.config.tocu_alpha
            and self.frame_index - self.last_tocu >= self.config.tocu_every
        ):
            tocu_updated = self._tocu(rgb, x, frame_h)
        timings["tocu"] = _elapsed_ms(start)

        if not rgb_only:
            frame_h = publish.trusted(frame_h, self.h_global, search_centre, self.config.linear_weight, self.x_size)
            if self.config.publish_rate < 1.0:
                frame_h = self.h_published = self._blend(self.h_published, frame_h, self.config.publish_rate)
        box_x = None if rgb_only else bx.map_box(self.box, np.linalg.inv(frame_h))
        return TrackResult(
            box=self.box.copy(),
            box_x=box_x,
            score=score,
            state=self.state,
            global_homography=self.h_global.copy(),
            frame_homography=frame_h.copy(),
            stage_params=stage_params,
            experts=experts,
            confidence=confidence,
            tocu_updated=tocu_updated,
            degraded=tuple(degraded),
            timings_ms=timings,
        )

    def _usable_aux(self, x: np.ndarray | None) -> tuple[np.ndarray | None, list[str]]:
        """None (the caller chose RGB-only and reports why) or a checked X image; an unusable one is a degradation."""
        if x is None:
            return None, []
        try:
            check_rgb(x, "x")
        except EngineInputError:
            return None, ["aux_invalid"]
        return x, []

    def _templates(self, rgb_only: bool) -> list[torch.Tensor]:
        if rgb_only:
            return [self.template_rgb_only]
        return [self.template] if self.dynamic_template is None else [self.template, self.dynamic_template]

    def _reusable_estimate(self, rgb_only: bool) -> list | None:
        """The last estimate's stage outputs while at most alignment_every - 1 X frames old, on the same running
        homography and crop scale."""
        every, estimate = self.config.alignment_every, self._estimate
        if every == 1 or estimate is None or rgb_only or self._search_scale() != 1.0:
            return None
        frame, stages, h_global = estimate
        return stages if self._x_frames - frame < every and np.array_equal(h_global, self.h_global) else None

    def _forward(
        self,
        templates: list[torch.Tensor],
        search: torch.Tensor,
        reuse_templates: bool = True,
        reuse_stages: list | None = None,
    ):
        autocast = (
            torch.autocast(self.device.type, dtype=self._autocast_dtype) if self._autocast_dtype else nullcontext()
        )
        with torch.inference_mode(), autocast:
            if reuse_templates:
                templates = self._embedded(templates)
            extra = {} if reuse_stages is None else {"reuse_stages": reuse_stages}
            return self.net(templates if len(templates) > 1 else templates[0], search, **extra)

    def _embedded(self, templates: list[torch.Tensor]) -> list:
        """The templates' tokens, each computed once while that template tensor is in use (with `fused`)."""
        embed = getattr(self.net, "embed_template", None)
        if not self.config.fused or embed is None:
            return templates
        known = self._template_tokens
        # Entries hold their tensor, so an id is never reused while its entry exists.
        self._template_tokens = {
            id(t): known[id(t)] if id(t) in known and known[id(t)][0] is t else (t, embed(t)) for t in templates
        }
        return [self._template_tokens[id(t)][1] for t in templates]

    def _pack(self, output) -> np.ndarray:
        windowed = output.score_map.float() * self.hann
        box = boxes_from_maps(windowed, output.size_map.float(), output.offset_map.float())[0]
        parts = [box, windowed.amax().reshape(1)]
        alignment = output.alignment
        if alignment is not None:
            parts.append(alignment.homography[0].float().flatten())
            for stage in alignment.stages:
                parts += [stage.params[0].float(), stage.selected[:1].float(), stage.confidence[:1].float()]
        return torch.cat(parts).cpu().numpy().astype(np.float64)

    def _unpack(self, packed: np.ndarray, output):
        size = self.net_config.search_size
        box = bx.cxcywh_to_xywh(packed[:4] * size)
        score = float(packed[4])
        if output.alignment is None:
            return box, score, None, [], [], 1.0
        h_crop = packed[5:14].reshape(3, 3)
        offset, stage_params, experts, confidences = 14, [], [], []
        for stage in output.alignment.stages:
            width = stage.params.shape[1]
            stage_params.append(packed[offset : offset + width].tolist())
            experts.append(EXPERT_NAMES[int(packed[offset + width])])
            confidences.append(float(packed[offset + width + 1]))
            offset += width + 2
        return box, score, h_crop, stage_params, experts, confidences[-1]

    def _image_homography(self, h_crop_centred: np.ndarray, crop: CropTransform) -> np.ndarray:
        """Network H (centred normalised search-crop units) -> H_delta in RGB image pixels."""
        size = self.net_config.search_size
        in_pixels = hg.centred_to_pixel(size).numpy() @ h_crop_centred @ hg.pixel_to_centred(size).numpy()
        return np.linalg.inv(crop.matrix) @ in_pixels @ crop.matrix

    def _passes_guard(self, candidate: np.ndarray) -> bool:
        if not np.isfinite(candidate).all() or np.linalg.cond(candidate) > MAX_CONDITION:
            return False
        return hg.within_corner_shift(candidate, self.h_calibration, *self.x_size, self.config.max_corner_shift)

    def _blend(self, start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
        return publish.blend(start, end, weight, self.x_size)

    def _search_scale(self) -> float:
        """Wider search while LOST: lost_search_scale per LOST frame, at most squared (i.e. twice at 1.41)."""
        if self.state != TrackState.LOST or self.config.lost_search_scale == 1.0:
            return 1.0
        lost_for = self.low_score_frames - self.config.lost_patience + 1
        return min(self.config.lost_search_scale**lost_for, self.config.lost_search_scale**2)

    def _damped(self, box: np.ndarray, score: float) -> np.ndarray:
        """The network's box with its size change bounded and smoothed; the centre is the network's."""
        cfg = self.config
        previous, size = self.box[2:], box[2:]
        if cfg.max_scale_change:
            size = previous * np.clip(size / previous, 1.0 / cfg.max_scale_change, cfg.max_scale_change)
        if cfg.size_lr < 1.0:
            size = previous + cfg.size_lr * float(np.clip(score, 0.0, 1.0)) * (size - previous)
        centre = box[:2] + box[2:] / 2
        return np.concatenate([centre - size / 2, size])

    def _update_state(self, score: float) -> None:
        if score < self.config.lost_score:
            self.low_score_frames += 1
            if self.low_score_frames >= self.config.lost_patience and self.state != TrackState.LOST:
                self.state = TrackState.LOST
                self.stats.lost_events += 1
        else:
            self.low_score_frames = 0
            self.state = TrackState.TRACKING

    def _tocu(self, rgb: np.ndarray, x: np.ndarray, candidate: np.ndarray) -> bool:
        """Template-Offset Contrastive Update: keep the candidate H only if its X template re-finds frame 0."""
        cfg = self.net_config
        self.last_tocu = self.frame_index
        self.stats.tocu_attempts += 1
        aligned = crop_pair(rgb, x, self.box, cfg.template_factor, cfg.template_size, candidate)
        unaligned = crop_pair(rgb, x, self.box, cfg.template_factor, cfg.template_size, self.h_global)
        templates = torch.cat([pair_tensor(aligned, self.device), pair_tensor(unaligned, self.device)])
        search = self.initial_search_tensor.expand(2, -1, -1, -1)
        output = self._forward([templates], search, reuse_templates=False)  # one-off candidates
        boxes = (output.boxes.float() * cfg.search_size).cpu().numpy().astype(np.float64)
        ious = []
        for box in bx.cxcywh_to_xywh(boxes):
            ious.append(bx.iou(self.initial_search.crop.box_to_image(box), self.initial_box))
        iou_aligned, iou_unaligned = ious
        beta = self.config.tocu_beta
        if iou_aligned >= iou_unaligned and iou_aligned > beta:
            if not self._passes_guard(candidate):
                self.stats.guard_rejections += 1
                return False
            if self.config.tocu_homography:
                self.h_global = candidate / candidate[2, 2]
            self.dynamic_template = pair_tensor(aligned, self.device)
            self.stats.tocu_accepted += 1
            return True
        if iou_unaligned > beta:
            self.dynamic_template = pair_tensor(unaligned, self.device)
        return False


def _elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1e3
