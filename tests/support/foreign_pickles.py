"""Checkpoint files pickled the way released trainers save them, with classes the loader has never seen."""

import sys
import types

import torch

from support.ostrack_reference import ostrack_state_dict


def foreign_class(module_name: str, class_name: str) -> type:
    """A class in a module the loader has never seen (like OSTrack's lib.train.admin.settings); see forget_modules."""
    parts = module_name.split(".")
    for depth in range(1, len(parts) + 1):
        sys.modules.setdefault(".".join(parts[:depth]), types.ModuleType(".".join(parts[:depth])))
    cls = type(class_name, (), {"__module__": module_name})
    sys.modules[module_name].__dict__[class_name] = cls
    return cls


def forget_modules(*module_names: str) -> None:
    for name in module_names:
        parts = name.split(".")
        for depth in range(len(parts), 0, -1):
            sys.modules.pop(".".join(parts[:depth]), None)


def ostrack_release(directory, config):
    """`net` beside pickled `settings`, `constructor` and `stats` objects, as OSTrack's trainer saves -> (path, net)."""
    settings = foreign_class("lib.train.admin.settings", "Settings")()
    settings.script_name = "ostrack"
    payload = {
        "net": ostrack_state_dict(config.embed_dim, config.depth, config.head_channels),
        "settings": settings,
        "constructor": foreign_class("lib.utils.constructor", "Constructor")(),
        "stats": None,
        "epoch": 300,
        "net_type": "OSTrack",
    }
    path = directory / "OSTrack_ep0300.pth.tar"
    torch.save(payload, path)
    forget_modules("lib.train.admin.settings", "lib.utils.constructor")
    return path, payload["net"]
