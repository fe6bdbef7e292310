#!/usr/bin/env bash
# Installs what Backdrop needs on Debian/Ubuntu: the system libraries (only those missing,
# with sudo when not root), then a virtual environment in .venv with Backdrop and its tests.
set -euo pipefail
cd "$(dirname "$0")"

# libgl1/libglib2.0-0: OpenCV (contrib build, from mediapipe); libegl1/libgles2: MediaPipe and
# headless GL; libportaudio2: sounddevice; python3-venv: the environment itself;
# nginx + libnginx-mod-rtmp: the local RTMP server the streaming tests publish to;
# pulseaudio pulseaudio-utils libasound2-plugins: the sound server (and pactl) that the
# virtual microphone is made on, and PortAudio's route to it; the audio tests use its null sinks;
# libegl-mesa0 libgl1-mesa-dri: OpenGL without a GPU (Mesa llvmpipe) for the GL compositor;
# the libxcb-* / libxkbcommon-x11-0 set: Qt's xcb platform for the panel; xvfb xauth: a
# virtual screen for the panel's tests; chromium: the headless browser the review page's test opens.
DEB_PACKAGES=(python3-venv python3-dev libgl1 libglib2.0-0 libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri
              libportaudio2 pulseaudio-utils libasound2-plugins nginx libnginx-mod-rtmp
              libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
              libxcb-xinerama0 libxcb-randr0 libxcb-shape0 libxcb-xfixes0 libxkbcommon-x11-0 libfontconfig1
              xvfb xauth chromium)

# A desktop on PipeWire already has a PulseAudio server (pipewire-pulse); the pulseaudio
# package would conflict with it, so it is only added where neither is installed.
if ! dpkg-query -W -f='${Status}' pipewire-pulse 2>/dev/null | grep -q "ok installed"; then
  DEB_PACKAGES+=(pulseaudio)
fi

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install.sh: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# The train extra (`backdrop train`) is installed too, for its tests. PyTorch is pinned: a plain
# `torch` from the registry is a CUDA build of several GB on Linux, while 2.13.0 is what this
# project is tested with (the CPU build where one is at hand, as on our machines); set
# TORCH_SPEC to choose another (e.g. TORCH_SPEC="torch==2.13.0" with a CUDA build on a GPU machine).
.venv/bin/python -m pip install -q -e ".[test,train]" "${TORCH_SPEC:-torch==2.13.0}"
# PyMatting's numba functions (the edge solver of `remove --edges matting`) compile once, here,
# and are cached beside it: about a minute now instead of at a user's first photo.
.venv/bin/python -c "from app.engine.matting.stills.fine_edges import precompile; precompile()"
sync  # write the installed files out now, not while the first (audio timing) tests run
echo "install.sh: ready (.venv/bin/backdrop)"
