#!/usr/bin/env bash
# The main job on its embedded default: a local lab of five real systemd hosts, driven through the
# whole flow with SQLite (data/mko.db) as the store. Run as root on Debian 12 or Ubuntu.
# MicroK8s on lab hosts is a test double (snaps cannot run there): see ts/lab/standin/README.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/bootstrap.sh"
cd "$root"

mko() { "$root/bin/mko" "$@"; }
step() {
  printf '\n\033[1m== %s\033[0m\n' "$1"
  shift
  printf '$ mko %s\n' "$*"
  mko "$@"
}

step "1. Bring up the lab, register it as cluster 'lab', paste each node's set-up instructions, test SSH" lab up --nodes 5
step "2. Every node's key is verified" node ssh-status --cluster lab
printf '\n$ ansible-inventory --graph cluster_lab\n'
ansible-inventory --graph cluster_lab
step "3. Every member in /etc/hosts on every node, checked with getent" cluster configure-hosts lab
step "4. Hardware reports from every node" hardware collect lab
step "   One node's report" hardware show lab-n1
step "5. Form the MicroK8s cluster: prerequisites, /etc/hosts, install, HA control plane, workers, addons" cluster setup lab
step "   Its status, read from every node" cluster status lab
step "   Its kubeconfig (0600)" cluster kubeconfig lab
step "6. The cluster in the database" cluster show lab
step "   Its nodes" node list --cluster lab
step "   The history of everything above" operation list --limit 10

cat <<'EOT'

The lab is still running. Try, for example:
  bin/mko lab status                       which hosts are on
  bin/mko operation show <id> --log        what a run did
  ansible-playbook playbooks/hosts.yml -e mko_hosts_target=cluster_lab   (recorded too)
Remove it with: bin/mko lab down
EOT
