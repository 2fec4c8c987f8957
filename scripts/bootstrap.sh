#!/usr/bin/env bash
# Installs what mko needs on a Debian 12 or Ubuntu machine, as root, then builds it.
# Safe to run again: it only installs what is missing and rebuilds when sources changed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

say() { printf '==> %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "mko bootstrap: run as root (it installs Debian packages): sudo $0" >&2
  exit 1
fi

# Debian/Ubuntu packages: Ansible and its linters, OpenSSH, sudo, and the lab's host tooling
# (systemd-nspawn, debootstrap, NUT, ethtool, wakeonlan). g++/make/python3 build better-sqlite3.
packages=(ansible ansible-lint yamllint openssh-client openssh-server sudo sqlite3 zstd iproute2
  debootstrap systemd-container nut-server nut-client ethtool wakeonlan socat procps
  g++ make python3 ca-certificates)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then missing+=(nodejs npm); fi
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "mko bootstrap: Node.js 20 or later is needed (this machine has $(node --version 2>/dev/null || echo none)); install it from your distribution's backports or nodejs.org, then run this again" >&2
  exit 1
fi
# Installing systemd packages has been seen to leave /dev/null at 0755, which breaks daemons.
[ "$(stat -c %a /dev/null)" = 666 ] || chmod 666 /dev/null

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (better-sqlite3 compiles from source, about a minute)"
  # `npm install`, not `npm ci`: npm 11 records only this platform's optional packages (rollup's
  # native builds) in the lockfile and `npm ci` then refuses it; install keeps the locked versions.
  npm install --no-audit --no-fund
fi
if [ ! -f dist/cli/main.js ] || [ -n "$(find ts templates -newer dist/cli/main.js -print -quit)" ]; then
  say "building"
  npm run --silent build
fi
