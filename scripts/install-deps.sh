#!/usr/bin/env bash
# Installs the Debian packages qmix needs to build and test, only those missing.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config ccache clang clang-format
      libcli11-dev libfmt-dev nlohmann-json3-dev libtomlplusplus-dev libpcre2-dev libzstd-dev libxxhash-dev
      libgtest-dev libgmock-dev libbenchmark-dev)
# scripts/test.sh sets QMIX_WITH_BROWSER=1: the report test renders HTML in headless Chromium.
if [ "${QMIX_WITH_BROWSER:-0}" = 1 ]; then pkgs+=(chromium); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
