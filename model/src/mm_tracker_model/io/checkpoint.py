"""The project's checkpoint format: preset config, state_dict and JSON-able metadata, tensors only.

Files load with `torch.load(..., weights_only=True)`, so nothing is ever unpickled beyond tensors and
plain containers.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mm_tracker_model.errors import CheckpointError, ShapeMismatchError
from mm_tracker_model.nn.tracker_net import TrackerNet, build_net
from mm_tracker_model.presets import NetConfig

FORMAT = "mm_tracker.checkpoint/1"
# How floating-point tensors are stored on disk. Loading always gives float32: half precision only halves the
# file (the shipped defaults must travel to a GPU machine in a 64 MiB tree), it never changes the compute dtype.
STORAGES = ("float32", "float16")
_FP16_MAX = float(torch.finfo(torch.float16).max)
# BatchNorm statistics stay float32 in half storage: they are few, and a pretrained stem's first variance can
# exceed half's range (measured: 2.7e5 after fine-tuning the NanoTrack stem on depth).
RUNNING_STATISTICS = ("running_mean", "running_var")


@dataclass
class Checkpoint:
    config: NetConfig
    state_dict: dict[str, torch.Tensor]
    metadata: dict[str, Any] = field(default_factory=dict)
    storage: str = "float32"  # on disk; state_dict is float32 either way


@dataclass
class LoadReport:
    loaded: list[str]
    missing: list[str]
    unexpected: list[str]


def read_torch_file(path: str | os.PathLike) -> Any:
    """torch.load with weights_only=True, turning every failure into a CheckpointError that says why."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist or is not a file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        foreign = re.search(r"GLOBAL (\S+)", str(exc))
        if foreign is None:
            raise CheckpointError(
                f"{str(path)!r} is not a readable PyTorch checkpoint (corrupt or another format)"
            ) from exc
        raise CheckpointError(
            f"{str(path)!r} holds a pickled object ({foreign.group(1)}), so it cannot be loaded with "
            "weights_only=True. Released OSTrack, DropTrack, MAE and NanoTrack files go through "
            "mm-tracker-convert, which reads their tensors without running the pickle."
        ) from exc
    except Exception as exc:  # torch raises RuntimeError, EOFError, zipfile errors ... for non-checkpoints
        raise CheckpointError(f"{str(path)!r} is not a readable PyTorch checkpoint: {exc}") from exc


def _stored(name: str, tensor: torch.Tensor, storage: str) -> torch.Tensor:
    tensor = tensor.detach().cpu()
    if storage == "float32" or tensor.dtype != torch.float32 or name.endswith(RUNNING_STATISTICS):
        return tensor
    largest = float(tensor.abs().max()) if tensor.numel() else 0.0
    if largest > _FP16_MAX:
        raise CheckpointError(f"{name!r} holds {largest:.3g}, beyond float16's range: store it as float32")
    return tensor.half()


def save_checkpoint(
    path: str | os.PathLike, net: TrackerNet, metadata: dict[str, Any] | None = None, storage: str = "float32"
) -> Path:
    """Write atomically (temporary file + rename) so a crash never leaves a half-written checkpoint.

    `storage="float16"` halves the file; `load_checkpoint` gives float32 tensors either way.
    """
    if storage not in STORAGES:
        raise CheckpointError(f"storage {storage!r} unknown; known: {', '.join(STORAGES)}")
    metadata = dict(metadata or {})
    try:
        json.dumps(metadata)
    except TypeError as exc:
        raise CheckpointError(f"checkpoint metadata must be JSON-serialisable: {exc}") from exc
    payload = {
        "format": FORMAT,
        "preset": net.config.name,
        "config": net.config.to_dict(),
        "storage": storage,
        "state_dict": {k: _stored(k, v, storage) for k, v in net.state_dict().items()},
        "metadata": metadata,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        torch.save(payload, tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp.name, 0o666 & ~umask)  # a temporary file is private; the checkpoint gets the usual mode
    os.replace(tmp.name, path)
    return path


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    payload = read_torch_file(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(
            f"{str(path)!r} is not an mm_tracker checkpoint (format {found!r}, expected {FORMAT!r}); "
            "pretrained OSTrack/DropTrack/MAE files go through mm-tracker-convert first"
        )
    for key in ("config", "state_dict"):
        if not isinstance(payload.get(key), dict):
            raise CheckpointError(f"{str(path)!r}: field {key!r} missing or not a dict")
    storage = payload.get("storage", "float32")  # files written before the field are float32
    if storage not in STORAGES:
        raise CheckpointError(f"{str(path)!r}: storage {storage!r} unknown; known: {', '.join(STORAGES)}")
    state = {
        key: value.float() if storage == "float16" and value.dtype == torch.float16 else value
        for key, value in payload["state_dict"].items()
    }
    return Checkpoint(NetConfig.from_dict(payload["config"]), state, payload.get("metadata", {}), storage)


def check_shapes(net: torch.nn.Module, state_dict: dict[str, torch.Tensor]) -> None:
    """Refuse any tensor whose shape differs from the model's, naming the first one."""
    expected = net.state_dict()
    for key, tensor in state_dict.items():
        if key in expected and tuple(tensor.shape) != tuple(expected[key].shape):
            raise ShapeMismatchError(
                f"shape mismatch for {key!r}: checkpoint has {tuple(tensor.shape)}, "
                f"model expects {tuple(expected[key].shape)}"
            )


def load_state(net: torch.nn.Module, state_dict: dict[str, torch.Tensor], strict: bool = True) -> LoadReport:
    """Load with a shape check first; with strict, any missing or unexpected key is an error."""
    check_shapes(net, state_dict)
    result = net.load_state_dict(state_dict, strict=False)
    report = LoadReport(
        loaded=sorted(set(state_dict) - set(result.unexpected_keys)),
        missing=sorted(result.missing_keys),
        unexpected=sorted(result.unexpected_keys),
    )
    if strict and (report.missing or report.unexpected):
        raise CheckpointError(
            f"checkpoint does not match the model: missing {report.missing[:5]}"
            f"{' ...' if len(report.missing) > 5 else ''}, unexpected {report.unexpected[:5]}"
            f"{' ...' if len(report.unexpected) > 5 else ''}"
        )
    return report


def load_net(path: str | os.PathLike, preset: str | None = None, map_location: str = "cpu") -> TrackerNet:
    """Build the network a checkpoint describes and load its weights; `preset` must match if given."""
    checkpoint = load_checkpoint(path)
    if preset is not None and preset != checkpoint.config.name:
        raise CheckpointError(f"{str(path)!r} holds preset {checkpoint.config.name!r}, not the requested {preset!r}")
    net = build_net(checkpoint.config)
    load_state(net, checkpoint.state_dict)
    return net.to(map_location)
