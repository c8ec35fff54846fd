"""Where a forward's time goes: milliseconds per frame of each part of the engine's inference copy.

    .venv/bin/python tools/module_times.py --checkpoint model/weights/full_tiny_default.pt [--int8]

runs the copy the engine tracks with (`inference_copy`) on fixed random crops with two templates (the engine's
case after a TOCU update), one torch thread by default, and prints the mean time per frame of the ViT blocks'
parts, the adapters, the stem, the head and the alignment branch's steps (timed around their calls: the stages
run between blocks, outside any module's forward). Timers add a little overhead; the parts are comparable with
each other, the total is a little above `mm-tracker-bench`'s forward.
"""

from __future__ import annotations

import argparse
import collections
import functools
import time
from collections.abc import Callable

import torch

from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.nn.inference import inference_copy
from mm_tracker_model.nn.tracker_net import build_net

# (name prefix, depth of the timed modules, label): the timed modules are never nested in each other.
MODULE_PARTS = (
    ("backbone.blocks.", 4, "ViT {3}"),  # attn, mlp, norm1, norm2, ...
    ("backbone.adapters.", 4, "adapters beside {3}"),
    ("backbone.stem", 2, "stem (search crops)"),
    ("backbone.patch_embed", 2, "stem (search crops)"),
    ("box_head", 1, "box head"),
    ("head_adapter", 1, "head adapter"),
)


def _label(name: str) -> str | None:
    parts = name.split(".")
    for prefix, depth, label in MODULE_PARTS:
        if name.startswith(prefix) and len(parts) == depth:
            return label.format(*parts)
    return None


def _timed(times: dict[str, float], label: str, function: Callable) -> Callable:
    @functools.wraps(function)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        times[label] += time.perf_counter() - start
        return result

    return timed


def instrument(net: torch.nn.Module) -> dict[str, float]:
    """Attach timers to `net`'s parts; returns the dict of accumulated seconds they fill."""
    times: dict[str, float] = collections.defaultdict(float)
    starts: dict[str, float] = {}
    for name, module in net.named_modules():
        label = _label(name)
        if label is None:
            continue
        module.register_forward_pre_hook(lambda *_, key=name: starts.__setitem__(key, time.perf_counter()))
        module.register_forward_hook(
            lambda *_, key=name, label=label: times.__setitem__(label, times[label] + time.perf_counter() - starts[key])
        )
    branch = getattr(net, "alignment", None)
    if branch is not None:
        branch.encode_fine = _timed(times, "alignment: fine encoder", branch.encode_fine)
        branch.run_stage = _timed(times, "alignment: stages (all below)", branch.run_stage)
        if branch.fine is not None:
            branch.fine.offset_field = _timed(times, "alignment:   fine offset field", branch.fine.offset_field)
        for stage in branch.stages:
            stage.forward = _timed(times, "alignment:   router + expert + fit", stage.forward)
        for module in (*branch.tcmda_rgb, *branch.tcmda_x):
            module.forward = _timed(times, "alignment:   TCMDA", module.forward)
    return times


def module_times(net: torch.nn.Module, frames: int, warmup: int = 5) -> tuple[float, dict[str, float]]:
    """(mean forward ms, {part: mean ms per frame}) over `frames` forwards of two templates and a search crop."""
    cfg = net.config
    generator = torch.Generator().manual_seed(0)
    template = torch.rand(1, 6, cfg.template_size, cfg.template_size, generator=generator)
    search = torch.rand(1, 6, cfg.search_size, cfg.search_size, generator=generator)
    times = instrument(net)
    with torch.no_grad():
        tokens = net.embed_template(template)
        for _ in range(warmup):
            net([tokens, tokens], search)
        times.clear()
        start = time.perf_counter()
        for _ in range(frames):
            net([tokens, tokens], search)
        total = time.perf_counter() - start
    return total / frames * 1e3, {label: seconds / frames * 1e3 for label, seconds in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="a checkpoint (default: a random --preset network)")
    parser.add_argument("--preset", default="full_tiny")
    parser.add_argument("--int8", action="store_true", help="the int8 inference copy (EngineConfig.int8)")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = load_net(args.checkpoint) if args.checkpoint else build_net(args.preset)
    forward_ms, parts = module_times(inference_copy(net, int8=args.int8), args.frames)
    print(f"forward (timed) {forward_ms:.1f} ms per frame, {args.frames} frames, {args.threads} thread(s)")
    for label, ms in sorted(parts.items(), key=lambda item: -item[1]):
        print(f"  {label:34s} {ms:6.2f} ms  {ms / forward_ms:6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
