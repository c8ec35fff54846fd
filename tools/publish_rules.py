"""Which rule should turn the per-frame alignment estimates into the published homography? Measured offline.

    .venv/bin/python tools/publish_rules.py UAV123_group2_2,UAV123_wakeboard4,UAVDT_S0310
    .venv/bin/python tools/publish_rules.py all --root runs/synth_val --format synthetic

Tracks each sequence once with the engine's defaults but `publish_rate=1` (each frame's own estimate; what is
published never feeds back into tracking while `global_rate=0` and `tocu_homography=false`), then replays the
recorded estimates through candidate rules and prints the mean corner error of each against the truth: the
low-pass rate, and how much of each frame's correction beyond a translation is trusted (`linear_weight`: 0 keeps
only the shift of the search centre, 1 the whole estimated correction).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from tune_engine import sequence_inputs, sequence_parser

from mm_tracker_model.engine import EngineConfig
from mm_tracker_model.engine.publish import PublishRule, published_homographies
from mm_tracker_model.eval.driver import new_run
from mm_tracker_model.eval.inputs import EvalInput
from mm_tracker_model.eval.offline import OfflineConfig, run_offline
from mm_tracker_model.geometry import homography as hg

RATES = (0.05, 0.1, 0.2, 0.3)
LINEAR_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclasses.dataclass
class Recorded:
    """One sequence's per-frame estimates, search centres, truths and the calibration they start from."""

    estimates: list[np.ndarray]
    centres: list[np.ndarray]
    truths: list[np.ndarray]
    calibration: np.ndarray
    x_size: tuple[int, int]


def record(net, item: EvalInput) -> Recorded:
    run = run_offline(
        net, item.messages(), new_run(item), OfflineConfig(engine=EngineConfig(publish_rate=1.0, linear_weight=1.0))
    )
    stamps = [s for s in run.rgb_stamps if s in run.outputs and s in run.truth.homographies]
    estimates, centres, truths = [], [], []
    previous = run.outputs[stamps[0]].box
    for stamp in stamps[1:]:
        output = run.outputs[stamp]
        estimates.append(output.homography)
        centres.append(previous[:2] + previous[2:] / 2)  # the search crop is centred on the previous box
        truths.append(run.truth.homographies[stamp])
        previous = output.box
    return Recorded(estimates, centres, truths, run.truth.homographies[stamps[0]], run.x_size)


def mean_error(rec: Recorded, rule: PublishRule) -> np.ndarray:
    published = published_homographies(rec.estimates, rec.centres, rec.calibration, rule, rec.x_size)
    return np.array(
        [
            float(hg.corner_error(torch.from_numpy(p), torch.from_numpy(t), *rec.x_size))
            for p, t in zip(published, rec.truths, strict=True)
        ]
    )


def main() -> int:
    net, items = sequence_inputs(sequence_parser(__doc__).parse_args())
    recorded = [record(net, item) for item in items]
    kept = np.concatenate([mean_error(r, PublishRule(rate=1e-9)) for r in recorded])
    print(f"calibration kept: {kept.mean():.2f} px over {kept.size} frames")
    header = "rate \\ linear_weight " + " ".join(f"{w:>6}" for w in LINEAR_WEIGHTS)
    print(header)
    for rate in RATES:
        cells = []
        for weight in LINEAR_WEIGHTS:
            errors = np.concatenate([mean_error(r, PublishRule(rate=rate, linear_weight=weight)) for r in recorded])
            cells.append(f"{errors.mean():6.2f}")
        print(f"{rate:<21}" + " ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
