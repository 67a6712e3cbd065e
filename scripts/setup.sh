#!/usr/bin/env bash
# One-command setup for a fresh Debian machine; fast when everything is already there.
#   - installs the Debian packages Studio needs (only the missing ones),
#   - creates .venv and installs Studio with its dev extras (only when pyproject.toml changed).
# Used by `make demo` and `make test`; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=0
[ "${1:-}" = "--bench" ] && BENCH=1  # also the peers bench/ measures against (make bench)

DEBS=(
  libportaudio2 espeak-ng ffmpeg xvfb xauth
  # real Praat: tests check that Praat opens the TextGrids Studio writes
  praat
  # Qt's xcb and offscreen platforms
  libgl1 libegl1 libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
  libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
  libxcb-shape0 libxcb-xfixes0 libxcb-xinerama0 libxcb-xkb1 libxcb-shm0 libxcb-sync1 libxcb-render0 libxcb-util1
  libx11-xcb1 libxrender1 libxi6 libsm6 libice6
  fonts-dejavu-core
  # ca-certificates for pip over https
  ca-certificates
  # libsndfile for soundfile (the wheel bundles one, the system one is a fallback)
  libsndfile1
)

if [ "$BENCH" = 1 ]; then
  # aeneas-ng builds its C extensions against these; the recordings retrain the bundled acoustic model
  # (python -m studio.models.train_acoustic, see resources/models/README.md)
  DEBS+=(build-essential python3-dev festival-dev libestools-dev libespeak-ng-dev
         asterisk-core-sounds-en-wav asterisk-core-sounds-en pocketsphinx-testdata)
fi

# A Python with venv (Debian splits venv out of python3).
if ! command -v "${PYTHON:-python3}" >/dev/null || ! "${PYTHON:-python3}" -c "import venv, ensurepip" 2>/dev/null; then
  DEBS+=(python3 python3-venv python3-dev)
fi

missing=()
if ! command -v dpkg-query >/dev/null; then
  echo "setup: not a Debian system; install these (or your distribution's equivalents) yourself: ${DEBS[*]}"
  DEBS=()
fi
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.studio-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # A CPU build of torch unless one is installed already (an unpinned `torch` pulls a multi-GB CUDA build).
  if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    echo "setup: installing torch (CPU build)"
    .venv/bin/python -m pip install -q "torch==${STUDIO_TORCH_VERSION:-2.13.0}"
  fi
  echo "setup: installing studio[dev]"
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch "$stamp"
fi
if [ "$BENCH" = 1 ]; then
  bstamp=.venv/.studio-bench-installed
  if [ ! -f "$bstamp" ] || [ pyproject.toml -nt "$bstamp" ]; then
    echo "setup: installing the benchmark peers (studio[bench])"
    .venv/bin/python -m pip install -q -e ".[dev,bench]"
    touch "$bstamp"
  fi
fi
