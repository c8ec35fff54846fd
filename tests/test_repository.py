"""The repository's entry points stay true: layout, the README's two commands, CI, pinned dependencies."""

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_fixed_top_level_layout_exists():
    for path in ("ros2_ws/src/mm_tracker", "ros2_ws/src/mm_tracker_msgs", "model", "launch", "calibration", "tests"):
        assert (REPO / path).is_dir(), path
    assert (REPO / "README.md").is_file()


def test_readme_gives_exactly_the_two_make_commands_and_they_exist():
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_ci_runs_make_test():
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def test_gitignore_covers_venv_and_colcon_outputs():
    ignored = set((REPO / ".gitignore").read_text().split())
    assert {".venv/", "ros2_ws/build/", "ros2_ws/install/", "ros2_ws/log/"} <= ignored


def test_python_dependencies_are_pinned_in_one_place():
    for name in ("requirements.txt", "requirements-ros.txt"):
        lines = [ln for ln in (REPO / "tools" / name).read_text().splitlines() if ln and not ln.startswith("#")]
        assert lines and all("==" in ln for ln in lines), name


def test_console_scripts_are_installed_in_the_venv():
    for script in ("mm-tracker-info", "mm-tracker-convert", "mm-tracker-demo"):
        assert (REPO / ".venv" / "bin" / script).is_file(), script


def test_a_second_bootstrap_reinstalls_and_rebuilds_nothing():
    def bootstrap() -> str:
        return subprocess.run(
            ["bash", "tools/bootstrap.sh"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout

    bootstrap()  # brings everything up to date if the tree changed since the last set-up
    output = bootstrap()
    assert "python dependencies up to date" in output and "ros2_ws build up to date" in output
    assert "installing" not in output and "building" not in output


def test_the_tree_and_one_training_pack_travel_within_64_mib():
    """What travels to a GPU machine: the tracked files (weights included) plus one pack of PACK_BUDGET_MIB."""
    import pytest

    from mm_tracker_model.data.pack import PACK_BUDGET_MIB

    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the tracked files cannot be listed")
    tracked = _tracked_bytes()
    assert tracked / 2**20 + PACK_BUDGET_MIB <= 64.0, f"tracked files {tracked / 2**20:.1f} MiB"


GPU_WHEELS_MIB = 16  # tools/gpu_wheels.sh: 14 MB measured
GPU_PACK_MIB = 10  # the pack tools/gpu_job.sh is given: mm-tracker-pack --max-mib 10


def test_the_gpu_job_carry_fits_beside_the_tree():
    """tools/gpu_job.sh travels with the tree, its wheels (.whl/) and a pack of GPU_PACK_MIB: 64 MiB in all."""
    import pytest

    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the tracked files cannot be listed")
    tracked = _tracked_bytes()
    assert tracked / 2**20 + GPU_WHEELS_MIB + GPU_PACK_MIB <= 64.0, f"tracked files {tracked / 2**20:.1f} MiB"
    wheels = sum(p.stat().st_size for p in (REPO / ".whl").glob("*.whl"))
    assert wheels / 2**20 <= GPU_WHEELS_MIB, f".whl/ holds {wheels / 2**20:.1f} MiB"


def _tracked_bytes() -> int:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return sum((REPO / name).stat().st_size for name in listed.decode().split("\0") if (REPO / name).is_file())
