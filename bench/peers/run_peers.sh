#!/usr/bin/env bash
# Install the peer executors into their own venv (bench/.peers-venv) and measure
# them side by side with Baton in one run. Usage: bench/peers/run_peers.sh [--steps N] [--quick]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/bench/.peers-venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
# Pinned to the versions the targets quote; pip is a no-op when they are present.
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  "dbos==3.4.*" \
  "langgraph==1.2.*" "langgraph-checkpoint-sqlite" \
  "prefect==3.9.*"

# Baton is measured by the project's own interpreter; each peer by the peers venv.
baton_python="${BATON_PYTHON:-$root/.venv/bin/python}"
cd "$root"
exec "$baton_python" -m bench.peers.peer_bench --peers-python "$venv/bin/python" "$@"
