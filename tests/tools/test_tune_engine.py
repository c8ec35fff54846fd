"""tools/tune_engine.py: the sequences its arguments name, with pseudo-thermal X for RGB-only layouts."""

import importlib
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[2] / "tools"
sys.path.insert(0, str(TOOLS))
tune_engine = importlib.import_module("tune_engine")


def test_all_names_every_sequence_folder_and_otb_gets_pseudo_thermal(tmp_path, monkeypatch):
    for name in ("b_seq", "a_seq"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("not a sequence")
    monkeypatch.setattr(tune_engine, "load_net", lambda path: __import__("torch").nn.Identity())
    args = tune_engine.sequence_parser("doc").parse_args(["all", "--root", str(tmp_path), "--checkpoint", "x.pt"])
    _, items = tune_engine.sequence_inputs(args)
    assert [item.path.name for item in items] == ["a_seq", "b_seq"]
    assert {item.pseudo_aux for item in items} == {"thermal"}
    args = tune_engine.sequence_parser("doc").parse_args(["b_seq", "--root", str(tmp_path), "--format", "synthetic"])
    monkeypatch.setattr(tune_engine, "default_checkpoint", lambda: Path("default.pt"))
    _, items = tune_engine.sequence_inputs(args)
    assert [item.path.name for item in items] == ["b_seq"] and items[0].pseudo_aux is None
