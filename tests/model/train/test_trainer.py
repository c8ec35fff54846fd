import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml

from mm_tracker_model.data.readers import read_sequence
from mm_tracker_model.data.synthetic import SynthConfig, generate
from mm_tracker_model.eval.settings import evaluate
from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.nn.tracker_net import build_net, param_group
from mm_tracker_model.train.config import TrainConfigError, load_train_config
from mm_tracker_model.train.trainer import TRAINING_FORMAT, train


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    generate(out, SynthConfig(frames=8, rgb_size=(160, 120), x_size=(128, 104), seed=1), 2)
    return out


def _config(tmp_path, synthetic_dir, **fields):
    data = {
        "preset": "full_tiny",
        "phase": "alignment",
        "synthetic": [str(synthetic_dir)],
        "samples_per_epoch": 4,
        "validation_samples": 8,
        "epochs": 1,
        "batch_size": 2,
        "out": str(tmp_path / "run"),
        "lr": 1e-3,
    } | fields
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_alignment_stage_updates_only_the_alignment_branch(tmp_path, synthetic):
    torch.manual_seed(0)
    before = build_net("full_tiny").state_dict()
    result = train(load_train_config(_config(tmp_path, synthetic)), progress=False)
    after = load_net(result.checkpoint).state_dict()
    changed = {param_group(k) for k in before if not torch.equal(before[k], after[k]) and "running" not in k}
    assert changed == {"alignment"}
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["format"] == TRAINING_FORMAT and state["epoch"] == 1 and "iou" in state["validation"]
    assert (tmp_path / "run" / "tensorboard").is_dir()


def test_validation_tracks_whole_sequences_with_the_evaluation_metrics(tmp_path, synthetic):
    config = load_train_config(_config(tmp_path, synthetic, validation_sequences=[str(synthetic)]))
    train(config, progress=False)
    validation = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["validation"]
    assert {"seq_pr", "seq_npr", "seq_sr", "seq_align_corner_err_px"} <= set(validation)
    # The same numbers mm-tracker-eval gives for the trained model on the same sequences.
    torch.manual_seed(0)
    net = load_net(tmp_path / "run" / "model.pt")
    expected = evaluate(net, [read_sequence(p, "synthetic") for p in sorted(synthetic.glob("seq_*"))])
    assert validation["seq_sr"] == pytest.approx(expected.sr, abs=1e-6)
    assert validation["seq_pr"] == pytest.approx(expected.pr, abs=1e-6)
    assert validation["seq_align_corner_err_px"] == pytest.approx(expected.align_corner_err_px, rel=1e-6)


def test_resume_continues_from_the_saved_epoch(tmp_path, synthetic):
    config = load_train_config(_config(tmp_path, synthetic, phase="tracking", epochs=1))
    train(config, progress=False)
    longer = load_train_config(_config(tmp_path, synthetic, phase="tracking", epochs=2))
    train(longer, resume=str(tmp_path / "run" / "last.pt"), progress=False)
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["epoch"] == 2


def test_weight_average_is_what_the_run_writes_and_resumes(tmp_path, synthetic):
    fields = {"phase": "tracking", "ema_decay": 0.5, "samples_per_epoch": 6}
    train(load_train_config(_config(tmp_path, synthetic, **fields)), progress=False)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    written = load_net(tmp_path / "run" / "model.pt").state_dict()
    averaged = {k.removeprefix("module."): v for k, v in state["ema"].items() if k.startswith("module.")}
    assert state["ema"]["n_averaged"].item() == 3  # one update per step
    moved = [k for k in written if written[k].is_floating_point() and not torch.equal(written[k], state["model"][k])]
    assert moved, "the written weights are the raw ones, not their average"
    assert all(torch.equal(written[k], averaged[k]) for k in written)
    # Resuming carries the average on instead of restarting it from the raw weights.
    longer = load_train_config(_config(tmp_path, synthetic, **fields, epochs=2))
    train(longer, resume=str(tmp_path / "run" / "last.pt"), progress=False)
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["ema"]["n_averaged"].item() == 6


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"phase": "everything"}, "phase 'everything' unknown"),
        ({"ema_decay": 1.0}, r"ema_decay must be in \[0, 1\)"),
        ({"synthetic": [], "real_rgb": None}, "no training data"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"learning_rate": 1.0}, r"unknown fields \['learning_rate'\]"),
    ],
)
def test_bad_configs_are_named(tmp_path, synthetic, fields, message):
    with pytest.raises(TrainConfigError, match=message):
        load_train_config(_config(tmp_path, synthetic, **fields))


@pytest.mark.integration
def test_two_process_ddp_on_the_cpu_ends_with_identical_weights(tmp_path, synthetic):
    config = _config(tmp_path, synthetic, phase="tracking", samples_per_epoch=8, epochs=1)
    script = tmp_path / "ddp_train.py"
    script.write_text(
        textwrap.dedent(f"""
        import os, torch
        from mm_tracker_model.train.config import load_train_config
        from mm_tracker_model.train.trainer import train
        result = train(load_train_config({str(config)!r}), progress=False)
        torch.save(result.net.state_dict(), {str(tmp_path)!r} + f"/rank{{os.environ['RANK']}}.pt")
    """)
    )
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533", str(script)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    initial = build_net("full_tiny").state_dict()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    assert any(not torch.equal(rank0[k], initial[k]) for k in rank0 if "adapters" in k)


def test_the_old_field_name_stage_still_reads_as_the_phase(tmp_path, synthetic):
    path = _config(tmp_path, synthetic)
    data = yaml.safe_load(path.read_text())
    data["stage"] = data.pop("phase")
    path.write_text(yaml.safe_dump(data))
    assert load_train_config(path).phase == "alignment"


def test_datasets_in_a_reader_layout_are_training_data(tmp_path):
    from support.fake_datasets import write_rgbt234

    from mm_tracker_model.train.trainer import build_sequences

    for name in ("a", "b"):
        write_rgbt234(tmp_path / "lasher" / name, frames=3)
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump({"datasets": [{"root": str(tmp_path / "lasher"), "format": "lasher"}]}))
    sequences = build_sequences(load_train_config(path))
    assert [s.name for s in sequences] == ["a", "b"] and all(s.aux_frames for s in sequences)
    path.write_text(yaml.safe_dump({"datasets": [{"root": str(tmp_path / "lasher")}]}))
    with pytest.raises(TrainConfigError, match="needs `root` and `format`"):
        load_train_config(path)


def test_prefetched_batches_train_exactly_as_inline_sampling(tmp_path, synthetic):
    weights = []
    for depth in (0, 2):
        (tmp_path / str(depth)).mkdir()
        path = _config(tmp_path / str(depth), synthetic, phase="tracking", samples_per_epoch=6, prefetch_batches=depth)
        weights.append(train(load_train_config(path), progress=False).net.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_lr_multipliers_scale_the_matching_parameters_only(tmp_path, synthetic):
    from mm_tracker_model.train.trainer import parameter_groups

    net = build_net("full_tiny")
    net.set_training_mode("full")
    groups = parameter_groups(net, 1e-3, {"backbone.blocks": 0.1, "backbone.blocks.0": 0.0})
    by_factor = {round(g["lr"] / 1e-3, 6): len(g["params"]) for g in groups}
    blocks = [n for n, _ in net.named_parameters() if n.startswith("backbone.blocks.")]
    first = [n for n in blocks if n.startswith("backbone.blocks.0.")]
    assert by_factor[0.1] == len(blocks) - len(first)  # frozen by 0: left out of the optimizer
    assert sum(by_factor.values()) == sum(p.requires_grad for p in net.parameters()) - len(first)
    with pytest.raises(TrainConfigError, match="match no parameter"):
        parameter_groups(net, 1e-3, {"backbone.stemm": 0.1})
    with pytest.raises(TrainConfigError, match="lr_multipliers must be numbers"):
        load_train_config(_config(tmp_path, synthetic, lr_multipliers={"backbone": -1}))


def test_selection_writes_the_best_epoch_and_patience_stops_early(tmp_path, synthetic, capsys):
    # lr 0: no epoch beats the first, so with patience 1 the run stops after epoch 2 of 4.
    path = _config(
        tmp_path,
        synthetic,
        phase="tracking",
        lr=0.0,
        epochs=4,
        validation_sequences=[str(synthetic)],
        select="seq_sr",
        patience=1,
    )
    result = train(load_train_config(path), progress=False)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["epoch"] == 2 and state["best"]["epoch"] == 1
    # One log line per epoch, with the selected value and the best epoch so far.
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in lines] == ["epoch 1/4", "epoch 2/4"]
    assert "seq_sr" in lines[1] and lines[1].endswith("(epoch 1)")
    from mm_tracker_model.io.checkpoint import load_checkpoint

    chosen = load_checkpoint(result.checkpoint)
    assert chosen.metadata["selected"] == {"epoch": 1, "seq_sr": state["best"]["value"]}
    best = load_checkpoint(tmp_path / "run" / "best.pt").state_dict
    assert all(torch.equal(best[k], chosen.state_dict[k]) for k in best)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"select": "real_sr"}, "select 'real_sr' is not among this config's validation values: none"),
        ({"patience": 2}, "patience needs `select`"),
        ({"validation_real": {"root": "x", "sequences": ["a"], "colour": 1}}, "validation_real takes root"),
    ],
)
def test_bad_selection_configs_are_named(tmp_path, synthetic, fields, message):
    with pytest.raises(TrainConfigError, match=message):
        load_train_config(_config(tmp_path, synthetic, **fields))


REAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "real_rgb"


@pytest.mark.integration
@pytest.mark.skipif(not (REAL / "UAVDT_S0310").is_dir(), reason="needs ../shared/data/real_rgb (UAVDT_S0310)")
def test_real_validation_scores_as_the_evaluation_command_does(tmp_path, synthetic):
    from mm_tracker_model.eval.inputs import EvalInput
    from mm_tracker_model.train.trainer import validate_sequences

    real = {"root": str(REAL), "sequences": ["UAVDT_S0310"], "pseudo_aux": "thermal"}
    path = _config(tmp_path, synthetic, lr=0.0, validation_real=real, select="real_sr")
    train(load_train_config(path), progress=False)
    validation = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["validation"]
    torch.manual_seed(0)
    item = EvalInput(REAL / "UAVDT_S0310", "otb", pseudo_aux="thermal")
    expected = validate_sequences(load_net(tmp_path / "run" / "model.pt"), [item], torch.device("cpu"), "real")
    assert validation["real_sr"] == pytest.approx(expected["real_sr"], abs=1e-6) and 0 <= expected["real_sr"] <= 1
