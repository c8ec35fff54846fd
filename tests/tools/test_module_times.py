"""tools/module_times.py: every part of a forward is timed once, and the parts fit inside the forward."""

import importlib.util
from pathlib import Path

import torch

from mm_tracker_model.nn.inference import inference_copy
from mm_tracker_model.nn.tracker_net import build_net

SPEC = importlib.util.spec_from_file_location(
    "module_times", Path(__file__).resolve().parents[2] / "tools/module_times.py"
)
tool = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(tool)


def test_the_parts_of_a_forward_are_timed_without_overlap():
    torch.manual_seed(0)
    net = inference_copy(build_net("full_tiny"))
    forward_ms, parts = tool.module_times(net, frames=2, warmup=1)
    expected = {"ViT attn", "ViT mlp", "adapters beside attn", "adapters beside mlp", "stem (search crops)"}
    expected |= {"box head", "alignment: stages (all below)", "alignment:   TCMDA", "alignment:   fine offset field"}
    assert expected <= set(parts) and all(ms > 0 for ms in parts.values())
    # Top-level parts (not the alignment's inner steps) never overlap, so together they fit in the forward.
    assert sum(ms for label, ms in parts.items() if not label.startswith("alignment:  ")) <= forward_ms
    inner = sum(ms for label, ms in parts.items() if label.startswith("alignment:  "))
    assert inner <= parts["alignment: stages (all below)"]
