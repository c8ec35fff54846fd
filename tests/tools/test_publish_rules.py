"""tools/publish_rules.py on a tiny synthetic sequence: the replay reproduces what the engine published."""

import importlib
import sys
from pathlib import Path

import numpy as np
import torch

from mm_tracker_model.data.synthetic import SynthConfig, generate
from mm_tracker_model.engine import EngineConfig
from mm_tracker_model.engine.publish import PublishRule
from mm_tracker_model.eval.driver import new_run
from mm_tracker_model.eval.inputs import EvalInput
from mm_tracker_model.eval.offline import OfflineConfig, run_offline
from mm_tracker_model.nn.tracker_net import build_net

TOOLS = Path(__file__).resolve().parents[2] / "tools"
sys.path.insert(0, str(TOOLS))  # the tool imports its sibling tune_engine, as it does when run as a script
tool = importlib.import_module("publish_rules")


def test_replayed_rule_equals_the_engines_published_homographies(tmp_path):
    generate(tmp_path, SynthConfig(frames=5, rgb_size=(160, 120), x_size=(128, 104), seed=4), 1)
    item = EvalInput(next(tmp_path.glob("seq_*")), "synthetic", None)
    torch.manual_seed(0)
    net = build_net("full_tiny").eval()
    recorded = tool.record(net, item)
    assert len(recorded.estimates) == len(recorded.truths) == len(recorded.centres) == 4
    rule = PublishRule(rate=0.3, linear_weight=0.25)
    engine = EngineConfig(publish_rate=rule.rate, linear_weight=rule.linear_weight)
    run = run_offline(net, item.messages(), new_run(item), OfflineConfig(engine=engine))
    errors = run.frame_alignment_errors()[-4:]
    np.testing.assert_allclose(tool.mean_error(recorded, rule), errors, rtol=1e-5, atol=1e-6)
    kept = tool.mean_error(recorded, PublishRule(rate=1e-9))
    assert not np.allclose(kept, errors)  # the rule is applied, not the calibration reported
