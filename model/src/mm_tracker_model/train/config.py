"""Training configuration (YAML) as a typed dataclass; every field is checked when the file is loaded."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import yaml

from mm_tracker_model.data.sampler import SamplerConfig
from mm_tracker_model.errors import TrainConfigError

PHASES = {"tracking": "adapters", "alignment": "alignment"}  # training phase -> the training mode it implies


@dataclass(frozen=True)
class RealRGBData:
    root: str
    sequences: tuple[str, ...]
    pseudo_aux: str = "thermal"
    seed: int = 0


@dataclass(frozen=True)
class DatasetData:
    """A folder of sequence folders in one of the readers' layouts (e.g. LasHeR's training set)."""

    root: str
    format: str
    sequences: tuple[str, ...] = ()  # sub-folders to use; empty: every sub-folder


@dataclass(frozen=True)
class StillPairsData:
    """Registered real RGB-X stills (RoadScene layout) as short sequences under synthetic camera motion."""

    root: str
    split: str = "train"  # train | held_out (every 5th pair by name; see data/still_pairs.py)
    frames: int = 8
    seed: int = 0


@dataclass(frozen=True)
class TrainConfig:
    preset: str = "full_tiny"
    phase: str = "tracking"  # tracking: adapters (PATrack); alignment: the alignment branch (PMATrack)
    training_mode: str | None = None  # default: the phase's; "full" for full fine-tuning
    init: str | None = None  # mm_tracker checkpoint to start from (e.g. from mm-tracker-convert)
    synthetic: tuple[str, ...] = ()  # folders written by mm-tracker-synth
    real_rgb: RealRGBData | None = None
    datasets: tuple[DatasetData, ...] = ()  # real RGB+X datasets (LasHeR, RGBT234, DepthTrack, VisEvent ...)
    still_pairs: StillPairsData | None = None
    packs: tuple[str, ...] = ()  # compact training packs written by mm-tracker-pack (pre-decoded, pre-cropped)
    # PairSampler options (data/sampler.py SamplerConfig), e.g. the known warps of the X crop for alignment.
    sampler: dict = dataclasses.field(default_factory=dict)
    # With `init`: replace the checkpoint's alignment branch by a fresh one of the preset's current design
    # (e.g. a checkpoint whose experts use the legacy pooled readout), keeping every other weight.
    fresh_alignment: bool = False
    samples_per_epoch: int = 256
    validation_samples: int = 32
    # Whole sequences tracked by the engine after each epoch and scored like mm-tracker-eval (PR/NPR/SR,
    # alignment corner error): mm-tracker-synth output folders (a root with seq_* or single sequences).
    validation_sequences: tuple[str, ...] = ()
    # Real RGB sequences (never trained on) tracked after each epoch with pseudo-X, scored with the toolkit
    # metrics (keys `real_pr`, `real_npr`, `real_sr`); with `select`, the best epoch is the model written.
    validation_real: RealRGBData | None = None
    select: str | None = None  # validation key to maximise, e.g. real_sr; model.pt = the best epoch's weights
    patience: int = 0  # stop after this many epochs without a better `select` value (0: never stop early)
    # Learning-rate factor per parameter-name prefix, e.g. {backbone.stem: 0.1} for a pretrained image stem.
    lr_multipliers: dict = dataclasses.field(default_factory=dict)
    prefetch_batches: int = 2  # batches sampled by a background thread while the network computes (0: inline)
    epochs: int = 10
    batch_size: int = 8
    lr: float = 4e-4
    weight_decay: float = 1e-4
    lr_drop_fraction: float = 0.8  # LR x 0.1 after this share of the epochs
    grad_clip: float = 0.1
    # Exponential moving average of the weights (and BatchNorm statistics), updated after every step; the
    # average is what validation scores and what the run writes. 0: off. 0.998 averages over ~500 steps.
    ema_decay: float = 0.0
    seed: int = 0
    out: str = "runs/train"

    @property
    def mode(self) -> str:
        return self.training_mode or PHASES[self.phase]


VALIDATION_KEYS = {
    "validation_real": ("real_pr", "real_npr", "real_sr"),
    "validation_sequences": ("seq_pr", "seq_npr", "seq_sr"),
}


def _check_selection(config: TrainConfig) -> None:
    if config.patience < 0:
        raise TrainConfigError(f"patience must be >= 0, got {config.patience}")
    if config.select is None:
        if config.patience:
            raise TrainConfigError("patience needs `select` (the validation value it watches)")
        return
    offered = [key for source, keys in VALIDATION_KEYS.items() if getattr(config, source) for key in keys]
    if config.select not in offered:
        raise TrainConfigError(
            f"select {config.select!r} is not among this config's validation values: {', '.join(offered) or 'none'} "
            "(give validation_real or validation_sequences)"
        )


def load_train_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise TrainConfigError(f"training config {str(path)!r} cannot be read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise TrainConfigError(f"{str(path)!r} is not valid YAML: {exc}") from exc
    if "stage" in data and "phase" not in data:  # its name until this release; still accepted for one more
        data["phase"] = data.pop("stage")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise TrainConfigError(f"{str(path)!r}: unknown fields {unknown}; known: {', '.join(sorted(known))}")
    for name in ("real_rgb", "validation_real"):
        if data.get(name) is not None:
            try:
                real = dict(data[name])
                real["sequences"] = tuple(real.get("sequences", ()))
                data[name] = RealRGBData(**real)
            except (TypeError, ValueError) as exc:
                raise TrainConfigError(
                    f"{str(path)!r}: {name} takes root, sequences, pseudo_aux, seed ({exc})"
                ) from exc
    if "datasets" in data:
        try:
            data["datasets"] = tuple(
                DatasetData(d["root"], d["format"], tuple(d.get("sequences", ()))) for d in data["datasets"] or ()
            )
        except (KeyError, TypeError) as exc:
            raise TrainConfigError(f"{str(path)!r}: each of `datasets` needs `root` and `format` ({exc})") from exc
    if data.get("still_pairs") is not None:
        try:
            data["still_pairs"] = StillPairsData(**data["still_pairs"])
        except TypeError as exc:
            raise TrainConfigError(f"{str(path)!r}: still_pairs takes root, split, frames, seed ({exc})") from exc
        if data["still_pairs"].split not in ("train", "held_out"):
            raise TrainConfigError(f"still_pairs split {data['still_pairs'].split!r}: train or held_out")
    for name in ("synthetic", "validation_sequences", "packs"):
        if name in data:
            data[name] = tuple(data[name])
    config = TrainConfig(**data)
    if config.phase not in PHASES:
        raise TrainConfigError(f"phase {config.phase!r} unknown; known: {', '.join(PHASES)}")
    if not (config.synthetic or config.real_rgb or config.datasets or config.still_pairs or config.packs):
        raise TrainConfigError(
            "no training data: give `synthetic`, `real_rgb`, `datasets`, `still_pairs` and/or `packs`"
        )
    try:
        SamplerConfig(**config.sampler)
    except (TypeError, ValueError) as exc:
        raise TrainConfigError(f"{str(path)!r}: sampler: {exc}") from exc
    if config.fresh_alignment and not config.init:
        raise TrainConfigError("fresh_alignment needs `init` (a fresh model's branch is fresh anyway)")
    for name in ("samples_per_epoch", "epochs", "batch_size"):
        if getattr(config, name) < 1:
            raise TrainConfigError(f"{name} must be >= 1, got {getattr(config, name)}")
    _check_selection(config)
    bad_factors = {k: v for k, v in config.lr_multipliers.items() if not isinstance(v, (int, float)) or v < 0}
    if bad_factors:
        raise TrainConfigError(f"lr_multipliers must be numbers >= 0, got {bad_factors}")
    if not 0.0 <= config.ema_decay < 1.0:
        raise TrainConfigError(f"ema_decay must be in [0, 1), got {config.ema_decay}")
    if config.prefetch_batches < 0:
        raise TrainConfigError(f"prefetch_batches must be >= 0, got {config.prefetch_batches}")
    return config
