"""Accounting reproduces the papers' numbers (thop-style parameters and Linear/conv MACs)."""

import pytest
import torch
from support.ostrack_reference import backbone_forward, head_forward, ostrack_state_dict

from mm_tracker_model.accounting import account, measure_macs
from mm_tracker_model.nn.tracker_net import build_net

PATRACK_PARAMS = 95.51e6
PATRACK_MACS = 58.24e9
OSTRACK_256_NO_CE_MACS = 29.05e9


@pytest.fixture(scope="module")
def base_accounting():
    return account(build_net("patrack_base", training_mode="adapters"))


def test_patrack_base_parameters_within_2_percent_of_the_paper(base_accounting):
    assert base_accounting.params.used == pytest.approx(PATRACK_PARAMS, rel=0.02)


def test_patrack_base_module_macs_within_2_percent_of_the_paper(base_accounting):
    assert base_accounting.macs.modules == pytest.approx(PATRACK_MACS, rel=0.02)


def test_total_macs_add_attention_products_to_module_macs(base_accounting):
    macs = base_accounting.macs
    assert macs.total > macs.modules
    assert macs.total == sum(macs.by_op.values()) == sum(macs.groups.values())


def test_adapters_mode_trains_only_adapters(base_accounting):
    params = base_accounting.params
    groups = params.groups
    assert groups["backbone"].trainable == 0 and groups["head"].trainable == 0
    assert params.trainable == groups["adapters"].total + groups["head_adapter"].total
    assert params.total == sum(g.total for g in groups.values())


def test_token_counts(base_accounting):
    assert base_accounting.tokens == {"template": 64, "search": 256, "per_stream": 320, "total": 640}


def test_module_macs_of_plain_ostrack_256_match_the_published_29_05_g():
    """The counting convention itself: thop's 29.05 G for OSTrack-256 without candidate elimination."""
    state = ostrack_state_dict()
    template, search = torch.zeros(1, 3, 128, 128), torch.zeros(1, 3, 256, 256)

    def ostrack_forward():
        features = backbone_forward(state, template, search, heads=12)
        return head_forward(state, features[:, -256:], grid=16)

    with torch.no_grad():
        macs = measure_macs(ostrack_forward)
    assert macs.modules == pytest.approx(OSTRACK_256_NO_CE_MACS, rel=0.005)
    assert macs.total > macs.modules  # q·k and attn·v products are left out of `modules`


def test_unused_modules_do_not_count_as_used():
    net = build_net("patrack_tiny")
    net.box_head.spare = torch.nn.Linear(4, 4)  # registered but never called in forward
    report = account(net)
    assert report.params.total - report.params.used == 4 * 4 + 4
