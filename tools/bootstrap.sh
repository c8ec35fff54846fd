#!/usr/bin/env bash
# One-time, idempotent set-up: .venv with the pinned dependencies, the model library (editable) and a colcon
# build of ros2_ws. Each step leaves a stamp holding the hash of its inputs; a second run with unchanged inputs
# reinstalls and rebuilds nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
WS="$ROOT/ros2_ws"
cd "$ROOT"

log() { printf '[bootstrap] %s\n' "$*"; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# A sourced system ROS 2 brings its own rclpy and build tools; otherwise the pip wheels are used (cp311 only).
if [[ -n "${ROS_DISTRO:-}" && -d "/opt/ros/${ROS_DISTRO}" ]]; then
  ROS_MODE="system-${ROS_DISTRO}"
else
  ROS_MODE="pip"
fi

find_python() {
  if [[ "$ROS_MODE" == pip ]]; then
    for candidate in python3.11 python3; do
      if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
        command -v "$candidate"; return 0
      fi
    done
    die "the ROS 2 pip wheels need Python 3.11 (found: $(python3 --version 2>&1)); install python3.11 or source a system ROS 2"
  fi
  command -v python3 >/dev/null || die "python3 not found"
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || die "Python >= 3.10 required"
  command -v python3
}

create_venv() {
  [[ -x "$VENV/bin/python" ]] && return 0
  local python; python="$(find_python)"
  log "creating $VENV with $python ($ROS_MODE ROS 2)"
  if [[ "$ROS_MODE" == pip ]]; then
    "$python" -m venv "$VENV" || die "python venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
  else
    "$python" -m venv --system-site-packages "$VENV" || die "python venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
  fi
}

# The ROS wheels' CMake files carry the wheel builder's Python and numpy include paths.
rewrite_ros_cmake_paths() {
  local py_inc np_inc
  py_inc="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  np_inc="$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')"
  # grep exits 1 when an earlier run already rewrote every file.
  { grep -rlZ --include='*.cmake' '/opt/python/cp311-cp311' "$VENV/share" 2>/dev/null || true; } \
    | xargs -0 -r sed -i \
        -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#${np_inc}#g" \
        -e "s#/opt/python/cp311-cp311/include/python3.11#${py_inc}#g"
}

install_python_deps() {
  local req_files=(tools/requirements.txt model/pyproject.toml)
  [[ "$ROS_MODE" == pip ]] && req_files+=(tools/requirements-ros.txt)
  local stamp="$VENV/.mm_tracker_deps" want
  want="$ROS_MODE $(hash_of "${req_files[@]}")"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "python dependencies up to date"; return 0
  fi
  log "installing python dependencies"
  "$VENV/bin/python" -m pip install --quiet uv==0.13.8
  local uv=("$VENV/bin/uv" pip install --python "$VENV/bin/python" --quiet)
  # opencv-contrib replaced opencv-python-headless; both install the cv2 package, so drop the old one first.
  "$VENV/bin/uv" pip uninstall --python "$VENV/bin/python" --quiet opencv-python-headless 2>/dev/null || true
  if [[ "$ROS_MODE" == pip ]]; then
    "${uv[@]}" -r tools/requirements.txt -r tools/requirements-ros.txt
    rewrite_ros_cmake_paths
  else
    "${uv[@]}" -r tools/requirements.txt colcon-common-extensions
  fi
  "${uv[@]}" --no-deps -e model
  echo "$want" >"$stamp"
}

build_ros_ws() {
  local stamp="$WS/install/.mm_tracker_build" want
  want="$ROS_MODE $(cd "$ROOT" && find ros2_ws/src launch -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "ros2_ws build up to date"; return 0
  fi
  log "building ros2_ws with colcon"
  (
    # shellcheck disable=SC1091
    source "$VENV/bin/activate"
    if [[ "$ROS_MODE" == pip ]]; then
      export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
      export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
    fi
    cd "$WS"
    colcon build --symlink-install --event-handlers console_cohesion- summary+ \
      --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$VENV/bin/python" >"$WS/colcon_build.log" 2>&1 \
      || { tail -n 60 "$WS/colcon_build.log" >&2; die "colcon build failed (full log: $WS/colcon_build.log)"; }
  )
  echo "$want" >"$stamp"
}

create_venv
install_python_deps
build_ros_ws
log "ready ($ROS_MODE ROS 2)"
