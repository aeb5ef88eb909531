#!/usr/bin/env bash
# Installs the OpenAI-compatible inference server that tests/integration/openai.rs
# runs against: llama.cpp's own HTTP server (the code of `llama-server`), as
# packaged with prebuilt CPU wheels by xllamacpp on PyPI, in a private venv.
#
#   tests/openai_server/install.sh            # venv at $CARGO_TARGET_DIR/openai-venv
#   CMDAI_OPENAI_VENV=/some/dir tests/openai_server/install.sh
#
# Idempotent: does nothing when the pinned version is already there.
set -euo pipefail

version=2026.10.11549
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=${CMDAI_OPENAI_VENV:-${CARGO_TARGET_DIR:-$repo/target}/openai-venv}

if [[ -x $venv/bin/python ]] &&
  "$venv/bin/python" -c "import sys, xllamacpp; sys.exit(xllamacpp.__version__ != '$version')" 2>/dev/null; then
  echo "openai-server: xllamacpp $version already in $venv"
  exit 0
fi

python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null; then
  echo "openai-server: $python not found; install Python 3.10 or newer (apt-get install python3 python3-venv)" >&2
  exit 1
fi
echo "openai-server: installing xllamacpp $version into $venv"
mkdir -p "$(dirname "$venv")"
if ! "$python" -m venv --clear "$venv"; then
  echo "openai-server: could not create a venv; install python3-venv (apt-get install python3-venv)" >&2
  exit 1
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: "xllamacpp==$version"
"$venv/bin/python" -c "import xllamacpp; print('openai-server: ready,', xllamacpp.__name__, xllamacpp.__version__)"
