#!/usr/bin/env bash
# Creates (if missing) the Python venv DIR and installs REQUIREMENTS into it with uv (from PyPI,
# pinned here), which installs the local stack's tools in seconds where pip takes minutes.
# Usage: bash infra/venv.sh DIR REQUIREMENTS
set -euo pipefail
venv=$1 requirements=$2
uv_version=0.13.8
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if [ "$("$venv/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" != "$uv_version" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "uv==$uv_version"
fi
"$venv/bin/uv" pip install --quiet --python "$venv/bin/python" -r "$requirements"
