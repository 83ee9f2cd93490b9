#!/usr/bin/env bash
# Installs what MaeDsl needs outside NuGet, on Debian 12 (and does nothing where it is already there):
#   - a libstdc++ with GLIBCXX_3.4.32 (TorchSharp 0.107's native shim is built with GCC 13+);
#     Debian 12 ships 3.4.30, so libstdc++6 comes from trixie, pinned at priority 100 so that
#     nothing else is taken from trixie unless asked for;
#   - dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), the main job's data;
#   - python3-torch, Debian's PyTorch, used by the interop test that has PyTorch read our .pth files;
#   - mpich (libmpich.so.12 and mpiexec), for data-parallel training under mpiexec and its tests (docs/distributed.md).
# Idempotent: every step checks first. Safe to run on every CI run and before every main-job run.
set -euo pipefail

log() { printf '[install-native-deps] %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    log "not root and no sudo: cannot install packages"; exit 1; fi
fi

libstdcxx() {
  for f in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/aarch64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6 /usr/lib/libstdc++.so.6; do
    [ -e "$f" ] && { readlink -f "$f"; return 0; }
  done
  return 1
}
has_glibcxx_3_4_32() { local f; f=$(libstdcxx) && grep -a -q 'GLIBCXX_3\.4\.32' "$f"; }

if ! command -v apt-get >/dev/null 2>&1; then
  if has_glibcxx_3_4_32; then log "no apt-get; libstdc++ already has GLIBCXX_3.4.32"; exit 0; fi
  log "no apt-get and libstdc++ lacks GLIBCXX_3.4.32: install GCC 13+'s libstdc++ by hand"; exit 1
fi

export DEBIAN_FRONTEND=noninteractive
updated=0
apt_update() { if [ "$updated" -eq 0 ]; then $SUDO apt-get update -qq; updated=1; fi; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

if has_glibcxx_3_4_32; then
  log "libstdc++ has GLIBCXX_3.4.32: nothing to do for TorchSharp"
else
  . /etc/os-release
  if [ "${ID:-}" != "debian" ] || [ "${VERSION_CODENAME:-}" != "bookworm" ]; then
    log "libstdc++ lacks GLIBCXX_3.4.32 and this is ${PRETTY_NAME:-an unknown system}, not Debian 12:"
    log "install a libstdc++6 from GCC 13 or newer with your package manager"; exit 1
  fi
  # The mirror of the existing bookworm entry (deb822 or one-line format).
  mirror=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(awk '/^URIs:/{u=$2} /^Suites:/ && / bookworm( |$)/{print u; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '$1=="deb" && $3=="bookworm"{print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "$mirror" ] || { log "cannot find the bookworm entry in apt's sources"; exit 1; }
  log "adding trixie (main) from $mirror at pin priority 100"
  $SUDO tee /etc/apt/sources.list.d/maedsl-trixie.sources >/dev/null <<SRC
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  $SUDO tee /etc/apt/preferences.d/maedsl-trixie >/dev/null <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
  apt_update
  log "installing libstdc++6 from trixie (this upgrades libc6 too)"
  $SUDO apt-get install -y -qq -t trixie libstdc++6 >/dev/null
  has_glibcxx_3_4_32 || { log "libstdc++6 from trixie still lacks GLIBCXX_3.4.32"; exit 1; }
  log "libstdc++ now has GLIBCXX_3.4.32"
fi

missing=()
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
installed python3-torch || missing+=(python3-torch)
installed mpich || missing+=(mpich)
if [ ${#missing[@]} -gt 0 ]; then
  apt_update
  log "installing ${missing[*]}"
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
log "done"
