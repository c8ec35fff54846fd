"""The training loop: one process on the CPU, or `torchrun --nproc_per_node=N` (gloo on CPU, NCCL on GPU).

Resumable (`last.pt` holds model, optimiser, scheduler and epoch; loads with weights_only=True), tqdm
progress, TensorBoard scalars, a validation pass per epoch, and the final model in the project's format.
"""

from __future__ import annotations

import dataclasses
import math
import os
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from mm_tracker_model.data.pack import read_pack
from mm_tracker_model.data.pseudo_aux import PseudoAuxSequence
from mm_tracker_model.data.readers import read_sequence
from mm_tracker_model.data.sampler import PairSampler, SamplerConfig, collate
from mm_tracker_model.data.still_pairs import split_names, still_pair_sequence
from mm_tracker_model.engine import EngineConfig
from mm_tracker_model.errors import CheckpointError
from mm_tracker_model.eval.alignment_pairs import pair_errors
from mm_tracker_model.eval.driver import new_run
from mm_tracker_model.eval.inputs import EvalInput
from mm_tracker_model.eval.offline import OfflineConfig, run_offline
from mm_tracker_model.eval.report import summarise
from mm_tracker_model.io.checkpoint import load_checkpoint, load_net, load_state, read_torch_file, save_checkpoint
from mm_tracker_model.losses import LossWeights, alignment_loss, mask_loss, tracking_loss
from mm_tracker_model.nn.tracker_net import TrackerNet, build_net
from mm_tracker_model.prefetch import Prefetcher
from mm_tracker_model.presets import get_preset
from mm_tracker_model.train.config import RealRGBData, TrainConfig, TrainConfigError

TRAINING_FORMAT = "mm_tracker.training/1"


@dataclass
class TrainResult:
    checkpoint: Path  # the final model in the project's format (written by rank 0)
    net: TrackerNet  # this process's trained network (identical on every rank under DDP)


def distributed_context() -> tuple[int, int, torch.device]:
    """(rank, world size, device); initialises the process group when started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def real_rgb_format(name: str) -> str:
    """The annotation format of a sequence in ../shared/data/real_rgb (VOT polygons, otherwise OTB boxes)."""
    return "vot" if name.startswith("VOT") else "otb"


def build_sequences(config: TrainConfig, with_packs: bool = True) -> list:
    """Every training source of the config; `with_packs=False` leaves out its packs (what mm-tracker-pack packs)."""
    sequences = []
    for pack in config.packs if with_packs else ():
        sequences += read_pack(pack)[1]
    for folder in config.synthetic:
        folder = Path(folder)
        children = sorted(p for p in folder.iterdir() if (p / "meta.json").is_file()) if folder.is_dir() else []
        sequences += [read_sequence(child, "synthetic") for child in children] or [read_sequence(folder, "synthetic")]
    if config.real_rgb is not None:
        real = config.real_rgb
        for name in real.sequences:
            base = read_sequence(Path(real.root) / name, real_rgb_format(name))
            sequences.append(PseudoAuxSequence(base, real.pseudo_aux, seed=real.seed))
    if config.still_pairs is not None:
        pairs = config.still_pairs
        names = split_names(pairs.root, held_out=pairs.split == "held_out")
        sequences += [still_pair_sequence(pairs.root, name, pairs.frames, pairs.seed) for name in names]
    for dataset in config.datasets:
        root = Path(dataset.root)
        if not root.is_dir():
            raise TrainConfigError(f"dataset root {str(root)!r} is not a folder")
        names = dataset.sequences or sorted(p.name for p in root.iterdir() if p.is_dir())
        sequences += [read_sequence(root / name, dataset.format) for name in names]
    return sequences


def compute_losses(net: TrackerNet, output, batch: dict, config: TrainConfig, epoch: int) -> dict[str, torch.Tensor]:
    weights = LossWeights()
    terms = tracking_loss(output, batch["box"], weights, batch.get("present"))
    if output.alignment is not None and config.phase == "alignment":
        costs = [stage.expert_costs for stage in net.alignment.stages]
        terms |= alignment_loss(
            output.alignment.stages, batch["homography"], costs, weights, net.config.alignment.stages
        )
        terms["mask"] = mask_loss(output.alignment.stages, batch["masks"], epoch)
    return terms


def validate(net: TrackerNet, sampler: PairSampler, samples: int, device: torch.device) -> dict[str, float]:
    """Mean IoU of the predicted box and the alignment's crop-level corner error per stage, on fixed samples."""
    found = pair_errors(net, sampler, samples, device)
    net.train()
    return found


def sequence_folders(roots: tuple[str, ...]) -> list[Path]:
    folders = []
    for root in map(Path, roots):
        found = sorted(p for p in root.glob("seq_*") if (p / "meta.json").is_file())
        folders += found or [root]
    return folders


def real_validation_inputs(real: RealRGBData) -> list[EvalInput]:
    """The validation sequences as `mm-tracker-eval --sequence ... --pseudo-aux` opens them."""
    return [
        EvalInput(Path(real.root) / name, real_rgb_format(name), pseudo_aux=real.pseudo_aux) for name in real.sequences
    ]


@torch.no_grad()
def validate_sequences(net: TrackerNet, inputs: list[EvalInput], device: torch.device, prefix: str) -> dict[str, float]:
    """Track whole sequences with the engine and score them as mm-tracker-eval does (keys `<prefix>_pr` ...)."""
    net.eval()
    runs = []
    for item in inputs:
        config = OfflineConfig(engine=EngineConfig(device=str(device)))
        runs.append(run_offline(net, item.messages(), new_run(item), config))
    net.train()
    overall = summarise(runs)["overall"]
    return {f"{prefix}_{k}": float(overall[k]) for k in ("pr", "npr", "sr", "align_corner_err_px") if k in overall}


def parameter_groups(net: TrackerNet, lr: float, multipliers: dict[str, float]) -> list[dict]:
    """Trainable parameters grouped by learning rate; the longest matching prefix of `multipliers` applies."""
    prefixes = sorted(multipliers, key=len, reverse=True)
    names = [name for name, _ in net.named_parameters()]
    unmatched = [prefix for prefix in prefixes if not any(name.startswith(prefix) for name in names)]
    if unmatched:
        raise TrainConfigError(f"lr_multipliers prefixes match no parameter: {unmatched}")
    groups: dict[float, list] = {}
    for name, param in net.named_parameters():
        if param.requires_grad:
            factor = next((multipliers[p] for p in prefixes if name.startswith(p)), 1.0)
            groups.setdefault(float(factor), []).append(param)
    return [{"params": params, "lr": lr * factor} for factor, params in groups.items() if factor > 0]


def held_out_sampler(config: TrainConfig, net: TrackerNet) -> PairSampler | None:
    """Pairs from the held-out still pairs (never trained on), sampled like training, for validation."""
    pairs = config.still_pairs
    if pairs is None or pairs.split != "train":
        return None
    names = split_names(pairs.root, held_out=True)
    sequences = [still_pair_sequence(pairs.root, name, pairs.frames, pairs.seed) for name in names]
    return PairSampler(sequences, net.config, SamplerConfig(**config.sampler))


def _initial_net(config: TrainConfig) -> TrackerNet:
    if config.init:
        net = load_net(config.init)
        if net.config.name != config.preset:
            raise CheckpointError(
                f"init checkpoint holds preset {net.config.name!r}, config asks for {config.preset!r}"
            )
        if config.fresh_alignment:
            return with_fresh_alignment(net)
        return net
    return build_net(config.preset)


def with_fresh_alignment(net: TrackerNet) -> TrackerNet:
    """The same network with a freshly initialised alignment branch of the preset's current design."""
    preset = get_preset(net.config.name)
    if preset.alignment is None or net.config.alignment is None:
        raise CheckpointError(f"preset {net.config.name!r} has no alignment branch to renew")
    fresh = build_net(dataclasses.replace(net.config, alignment=preset.alignment))
    # TCMDA is kept: the later blocks were trained on what it adds; the stages (experts, routers) and the fine
    # matcher are renewed.
    renewed = ("alignment.stages.", "alignment.fine.")
    kept = {k: v for k, v in net.state_dict().items() if not k.startswith(renewed)}
    report = load_state(fresh, kept, strict=False)
    unmatched = report.unexpected + [k for k in report.missing if not k.startswith(renewed)]
    if unmatched:
        raise CheckpointError(f"renewing the alignment branch left keys unmatched: {unmatched[:5]}")
    return fresh


def train(config: TrainConfig, resume: str | None = None, progress: bool = True) -> TrainResult:
    """Run the configured training."""
    rank, world, device = distributed_context()
    torch.manual_seed(config.seed)
    net = _initial_net(config)
    net.set_training_mode(config.mode)
    net.to(device).train()
    trainable = [p for p in net.parameters() if p.requires_grad]
    groups = parameter_groups(net, config.lr, config.lr_multipliers)
    optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    drop_epoch = max(1, int(config.epochs * config.lr_drop_fraction))
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=drop_epoch, gamma=0.1)
    start_epoch = 0
    out = Path(config.out)
    best = {"epoch": 0, "value": -math.inf}  # the `select` value of the best epoch so far
    if resume:
        state = read_torch_file(resume)
        if not isinstance(state, dict) or state.get("format") != TRAINING_FORMAT:
            raise CheckpointError(f"{resume!r} is not a training state written by mm-tracker-train")
        load_state(net, state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch = int(state["epoch"])
        best = state.get("best", best)
    ema = weight_average(net, config.ema_decay, state.get("ema") if resume else None)
    scored = ema.module if ema is not None else net  # what validation scores and the run writes
    model = DistributedDataParallel(net, find_unused_parameters=True) if world > 1 else net
    sampler = PairSampler(build_sequences(config), net.config, SamplerConfig(**config.sampler))
    held_out = held_out_sampler(config, net)
    validation = {
        "seq": [EvalInput(folder, "synthetic") for folder in sequence_folders(config.validation_sequences)],
        "real": real_validation_inputs(config.validation_real) if config.validation_real else [],
    }
    writer = SummaryWriter(out / "tensorboard") if rank == 0 else None
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    steps_per_epoch = max(1, config.samples_per_epoch // (config.batch_size * world))
    rng = np.random.default_rng([config.seed, rank, start_epoch])

    def make_batch() -> dict:
        return collate([sampler.sample(rng) for _ in range(config.batch_size)])

    batches = Prefetcher(make_batch, config.prefetch_batches, "batch-prefetch") if config.prefetch_batches else None
    step = start_epoch * steps_per_epoch
    try:
        for epoch in range(start_epoch + 1, config.epochs + 1):
            bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{config.epochs}", disable=not progress or rank)
            losses = []
            for _ in bar:
                batch = {k: v.to(device) for k, v in (batches.next() if batches else make_batch()).items()}
                with autocast:
                    output = model(batch["template"], batch["search"])
                    terms = compute_losses(net, output, batch, config, epoch)
                loss = sum(terms.values())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(trainable, config.grad_clip)
                optimizer.step()
                if ema is not None:
                    ema.update_parameters(net)
                step += 1
                losses.append(loss.item())
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
                if writer is not None:
                    writer.add_scalar("loss/total", loss.item(), step)
                    for name, value in terms.items():
                        writer.add_scalar(f"loss/{name}", float(value.detach()), step)
            scheduler.step()
            stop = False
            if rank == 0:
                metrics = _validation_metrics(scored, sampler, held_out, validation, config, device)
                for name, value in metrics.items():
                    writer.add_scalar(f"val/{name}", value, epoch)
                if config.select is not None and metrics[config.select] > best["value"]:
                    best = {"epoch": epoch, "value": metrics[config.select]}
                    save_checkpoint(out / "best.pt", scored, _metadata(config, epoch, step, metrics))
                stop = bool(config.patience) and epoch - best["epoch"] >= config.patience
                _save_state(out, net, optimizer, scheduler, epoch, config, metrics, best, ema)
                print(epoch_line(epoch, config, float(np.mean(losses)), metrics, best), flush=True)
            if _agree(stop, world, device):
                break
    finally:
        if batches is not None:
            batches.close()
    final = out / "model.pt"
    if config.select is not None and best["epoch"]:
        load_state(scored, load_checkpoint(out / "best.pt").state_dict)  # every rank: the selected weights
    if rank == 0:
        metadata = _metadata(config, epoch, step, {})
        if config.select is not None:
            metadata["selected"] = {"epoch": best["epoch"], config.select: best["value"]}
        save_checkpoint(final, scored, metadata)
        writer.close()
    if world > 1:
        dist.barrier()
    return TrainResult(final, scored)


def weight_average(net: TrackerNet, decay: float, saved: dict | None = None) -> AveragedModel | None:
    """The EMA of `net`'s weights and buffers (None when `decay` is 0), restored from a training state."""
    if not decay:
        return None
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    if saved is not None:
        ema.load_state_dict(saved)
    return ema


def epoch_line(epoch: int, config: TrainConfig, loss: float, metrics: dict, best: dict) -> str:
    """One log line per epoch (the run's log file; TensorBoard has every value)."""
    shown = [k for k in ("iou", "held_out_iou", "align_corner_err_px", "seq_sr", "real_sr") if k in metrics]
    values = ", ".join(f"{k} {metrics[k]:.3f}" for k in shown)
    line = f"epoch {epoch}/{config.epochs}: loss {loss:.3f}, {values}"
    if config.select is not None:
        line += f"; best {config.select} {best['value']:.3f} (epoch {best['epoch']})"
    return line


def _validation_metrics(net, sampler, held_out, validation: dict, config: TrainConfig, device) -> dict[str, float]:
    metrics = validate(net, sampler, config.validation_samples, device)
    if held_out is not None:
        found = validate(net, held_out, config.validation_samples, device)
        metrics |= {f"held_out_{k}": v for k, v in found.items()}
    for prefix, inputs in validation.items():
        if inputs:
            metrics |= validate_sequences(net, inputs, device, prefix)
    return metrics


def _metadata(config: TrainConfig, epoch: int, step: int, metrics: dict) -> dict:
    found = {"training": _plain(dataclasses.asdict(config)), "epochs": epoch, "steps": step}
    return found | ({"validation": metrics} if metrics else {})


def _save_state(out: Path, net, optimizer, scheduler, epoch: int, config: TrainConfig, metrics, best, ema) -> None:
    state = {
        "format": TRAINING_FORMAT,
        "model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": epoch,
        "config": _plain(dataclasses.asdict(config)),
        "validation": metrics,
        "best": best,
    }
    if ema is not None:
        state["ema"] = {k: v.detach().cpu() for k, v in ema.state_dict().items()}
    out.mkdir(parents=True, exist_ok=True)
    torch.save(state, out / "last.pt.tmp")
    os.replace(out / "last.pt.tmp", out / "last.pt")


def _agree(stop: bool, world: int, device: torch.device) -> bool:
    """Rank 0's early-stopping decision, on every rank."""
    if world == 1:
        return stop
    flag = torch.tensor([float(stop)], device=device)
    dist.broadcast(flag, 0)
    return bool(flag.item())


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
