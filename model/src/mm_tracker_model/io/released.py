"""Read the tensors of released checkpoints (OSTrack, DropTrack, MAE, NanoTrack) without running their pickles.

Released training files pickle more than tensors: OSTrack's trainer stores `settings`, `constructor` and
`stats` objects of its own classes beside `net`; NanoTrack pickles a numpy scalar. `torch.load(weights_only=True)`
refuses them. Here torch's own loader (zip and legacy formats, storages) runs with a restricted unpickler:
every global outside a short allow-list of tensor-rebuilding functions and plain containers becomes an inert
`StandIn` class that is never imported and whose construction only records its arguments. A pickle that would
call `os.system` through `__reduce__` therefore builds a `StandIn` and runs nothing.
"""

from __future__ import annotations

import collections
import os
import pickle
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mm_tracker_model.errors import CheckpointError

# (module, name) -> object the pickle may reference. Only functions that rebuild tensors from their storages
# and plain containers; storage classes are resolved by torch's loader itself.
_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): torch._utils._rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): torch._utils._rebuild_parameter_with_state,
    ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
    ("torch", "Size"): torch.Size,
}
_ALLOWED_DTYPES = {name for name in dir(torch) if isinstance(getattr(torch, name, None), torch.dtype)}


class StandIn:
    """An object of a class the pickle named but that was not loaded; it keeps what the pickle gave it."""

    qualified_name = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs, self.state = args, kwargs, None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:  # SETITEMS on a stand-in dict subclass
        self.kwargs[key] = value

    def append(self, value: Any) -> None:  # APPEND(S) on a stand-in list subclass
        self.args += (value,)

    def extend(self, values: Any) -> None:
        self.args += tuple(values)

    def __repr__(self) -> str:
        return f"<stand-in for {self.qualified_name}>"


def _stand_in(module: str, name: str) -> type[StandIn]:
    return type(name, (StandIn,), {"qualified_name": f"{module}.{name}", "__module__": "stand_in"})


def _restricted_module(seen: dict[str, type[StandIn]]) -> types.ModuleType:
    class RestrictedUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) in _ALLOWED:
                return _ALLOWED[(module, name)]
            if module == "torch" and name in _ALLOWED_DTYPES:
                return getattr(torch, name)
            key = f"{module}.{name}"
            if key not in seen:
                seen[key] = _stand_in(module, name)
            return seen[key]

    def load(file: Any, **kwargs: Any) -> Any:  # torch's legacy format reads its header records with load()
        return RestrictedUnpickler(file, **kwargs).load()

    module = types.ModuleType("mm_tracker_restricted_pickle")
    module.Unpickler, module.load, module.UnpicklingError = RestrictedUnpickler, load, pickle.UnpicklingError
    return module


@dataclass
class ReleasedFile:
    """The file's content, stand-ins included, and what was not loaded (path in the content -> class)."""

    content: Any
    skipped: dict[str, str] = field(default_factory=dict)


def _find_stand_ins(value: Any, path: str, found: dict[str, str], visited: set[int]) -> None:
    if id(value) in visited:
        return
    visited.add(id(value))
    if isinstance(value, StandIn):
        found[path or "<file>"] = value.qualified_name
    elif isinstance(value, dict):
        for key, item in value.items():
            _find_stand_ins(item, f"{path}.{key}" if path else str(key), found, visited)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _find_stand_ins(item, f"{path}[{index}]", found, visited)


def read_released_file(path: str | os.PathLike) -> ReleasedFile:
    """Load a released checkpoint's tensors and containers; foreign objects become stand-ins, reported."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist or is not a file")
    seen: dict[str, type[StandIn]] = {}
    try:
        content = torch.load(path, map_location="cpu", weights_only=False, pickle_module=_restricted_module(seen))
    except Exception as exc:  # zip without a pickle, truncated files, text files ...
        raise CheckpointError(f"{str(path)!r} is not a readable PyTorch checkpoint: {exc}") from exc
    skipped: dict[str, str] = {}
    _find_stand_ins(content, "", skipped, set())
    if isinstance(content, StandIn):
        raise CheckpointError(
            f"{str(path)!r} holds a single {content.qualified_name} object, not a dict of tensors "
            "(a whole pickled model?): save its state_dict() instead"
        )
    return ReleasedFile(content, skipped)
