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
# (systemd-nspawn, debootstrap, NUT, ethtool, wakeonlan). g++/make/python3 build native addons
# where no prebuilt one fits (better-sqlite3 13 ships N-API builds for linux x64 and arm64).
packages=(ansible ansible-lint yamllint openssh-client openssh-server sudo sqlite3 zstd iproute2
  debootstrap systemd-container nut-server nut-client ethtool wakeonlan socat procps
  g++ make python3 ca-certificates)
# The tests also drive a real browser (the web UI's tests): Debian's chromium, through playwright-core.
if [[ "${1:-}" == "--tests" ]]; then packages+=(chromium); fi
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
# Any node at all, to run npm: Debian 12, Ubuntu 24.04 and Raspberry Pi OS ship 18.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# mko runs on a supported Node.js LTS (22 or later). When the system's node is older, the official
# build from the npm registry (package node-linux-<arch>, binary and headers) goes to
# .runtime/node-v<version>; the system's own node stays as it is. Otherwise .runtime/node points at
# the system's node. bin/mko-node, bin/mko, the inventory script and the tests all use .runtime/node.
node_lts=24
runtime="$root/.runtime"
major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ ! -x "$runtime/node/bin/node" ] || [ "$(major_of "$runtime/node/bin/node")" -lt 22 ]; then
  install -d -m 0755 "$runtime"
  system_node=$(command -v node)
  if [ "$(major_of "$system_node")" -ge 22 ]; then
    say "using the system's Node.js $("$system_node" --version)"
    rm -rf "$runtime/node" && install -d "$runtime/node/bin" && ln -s "$system_node" "$runtime/node/bin/node"
  else
    case "$(uname -m)" in
      x86_64) arch=x64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) echo "mko bootstrap: no Node.js $node_lts build for $(uname -m) in the npm registry; install Node.js 22 or later yourself, then run this again" >&2; exit 1 ;;
    esac
    say "the system's Node.js is $("$system_node" --version); installing Node.js $node_lts (npm package node-linux-$arch) into .runtime for mko only"
    work=$(mktemp -d "$runtime/.download.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "node-linux-$arch@$node_lts" >/dev/null)
    tar -xzf "$work"/node-linux-"$arch"-*.tgz -C "$work"
    version=$("$work/package/bin/node" --version)
    rm -rf "$runtime/node-$version" && mv "$work/package" "$runtime/node-$version"
    # Swap the link in one rename, so a running mko never sees it missing.
    ln -sfn "node-$version" "$runtime/node.new" && mv -T "$runtime/node.new" "$runtime/node"
    rm -rf "$work"
    trap - EXIT
  fi
fi
export PATH="$runtime/node/bin:$PATH"
# Native addons (better-sqlite3) build against the headers of the node that will load them.
if [ -d "$runtime/node/include/node" ]; then export npm_config_nodedir="$runtime/node"; fi
# npm 9 (Debian's, with node 18) predates Node 24: use a current npm from the registry then.
npm_major=$(npm --version | cut -d. -f1)
if [ "$npm_major" -lt 10 ]; then
  if [ ! -f "$runtime/npm/bin/npm-cli.js" ]; then
    say "npm $(npm --version) is older than Node.js $node_lts supports; installing npm 10 into .runtime"
    work=$(mktemp -d "$runtime/.download.XXXXXX")
    (cd "$work" && npm pack --silent npm@10 >/dev/null && tar -xzf npm-*.tgz) && rm -rf "$runtime/npm" && mv "$work/package" "$runtime/npm"
    rm -rf "$work"
  fi
  npm() { node "$runtime/npm/bin/npm-cli.js" "$@"; }
fi
# Installing systemd packages has been seen to leave /dev/null at 0755, which breaks daemons.
[ "$(stat -c %a /dev/null)" = 666 ] || chmod 666 /dev/null

# Reinstall when the lockfile changed or node_modules was built for another node (native ABI).
node_version=$(node --version)
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
  [ "$(cat node_modules/.mko-node 2>/dev/null)" != "$node_version" ]; then
  say "installing npm dependencies for Node.js $node_version"
  # `npm install`, not `npm ci`: npm 11 records only this platform's optional packages (rollup's
  # native builds) in the lockfile and `npm ci` then refuses it; install keeps the locked versions.
  built_for=$(cat node_modules/.mko-node 2>/dev/null || true)
  npm install --no-audit --no-fund
  # install leaves an addon that is already present alone, even if another node built it.
  if [ -n "$built_for" ] && [ "$built_for" != "$node_version" ]; then npm rebuild better-sqlite3; fi
  echo "$node_version" > node_modules/.mko-node
fi
if [ ! -f dist/cli/main.js ] || [ -n "$(find ts templates -newer dist/cli/main.js -print -quit)" ]; then
  say "building"
  npm run --silent build
fi
