import json
from pathlib import Path

import pytest

from mm_tracker_model.cli import metrics

REFERENCE = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "metrics"
BOX = "10,10,20,20\n"
FAR = "200,200,20,20\n"


@pytest.fixture
def folders(tmp_path):
    (tmp_path / "gt").mkdir()
    (tmp_path / "res").mkdir()
    (tmp_path / "gt" / "a.txt").write_text(BOX * 4)
    (tmp_path / "gt" / "b.txt").write_text(BOX * 2)
    (tmp_path / "res" / "trk_a.txt").write_text(BOX * 2 + FAR * 2)
    return tmp_path


def test_json_output_has_the_specified_keys_and_fractions(folders, capsys):
    args = ["--toolkit", "lasher", "--gt", str(folders / "gt"), "--results", str(folders / "res"), "--json"]
    assert metrics.main(args) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert set(report) == {"toolkit", "overall", "sequences"} and report["toolkit"] == "lasher"
    assert report["overall"] == pytest.approx({"pr": 0.5, "npr": 0.5, "sr": 0.5 * 20 / 21})
    assert list(report["sequences"]) == ["a"]
    assert "1 ground-truth sequence(s) have no result file" in captured.err


def test_plain_output_is_a_table(folders, capsys):
    args = ["--toolkit", "rgbt234", "--gt", str(folders / "gt"), "--results", str(folders / "res")]
    assert metrics.main(args) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["toolkit", "sequences", "frames", "MPR", "MSR"]
    assert row.split() == ["rgbt234", "1", "4", "0.500", "0.476"]


def test_missing_paths_and_results_exit_non_zero_with_a_message(folders, capsys):
    assert metrics.main(["--toolkit", "gtot", "--gt", str(folders / "nope"), "--results", str(folders / "res")]) == 2
    assert "nope" in capsys.readouterr().err
    (folders / "list.txt").write_text("a\nb\n")
    args = ["--toolkit", "lasher", "--gt", str(folders / "gt"), "--results", str(folders / "res")]
    assert metrics.main([*args, "--sequences", str(folders / "list.txt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "'b'" in err and str(folders / "res") in err


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference/metrics is not beside this checkout")
def test_reference_rgbt234_jmmac(capsys):
    root = REFERENCE / "RGBT234"
    args = ["--toolkit", "rgbt234", "--gt", str(root / "gt"), "--results", str(root / "results" / "JMMAC")]
    assert metrics.main([*args, "--sequences", str(root / "SequencesName.txt"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["sequences"]) == 234 and set(report["sequences"]["afterrain"]) == {"mpr", "msr"}
    assert report["overall"] == pytest.approx({"mpr": 0.790, "msr": 0.573}, abs=0.002)
