# Source this to use mm_tracker from a shell: the venv, the colcon install, and ROS settings for loopback use.
_mm_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$_mm_root/.venv/bin/activate"
if [[ -n "${ROS_DISTRO:-}" && -f "/opt/ros/${ROS_DISTRO}/setup.bash" ]]; then
  # shellcheck disable=SC1090
  source "/opt/ros/${ROS_DISTRO}/setup.bash"
fi
# colcon's setup scripts read unset variables; keep the caller's `set -u` from tripping on them.
_mm_nounset=$([[ $- == *u* ]] && echo 1 || true)
set +u
# shellcheck disable=SC1091
source "$_mm_root/ros2_ws/install/setup.bash"
[[ -n "$_mm_nounset" ]] && set -u
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
# A 16 MB shared-memory segment for images between processes (keeps a profile the caller already set).
export FASTDDS_DEFAULT_PROFILES_FILE="${FASTDDS_DEFAULT_PROFILES_FILE:-$_mm_root/config/fastdds_shm_16mb.xml}"
unset _mm_root _mm_nounset
