#!/usr/bin/env bash
# The main job on its embedded default: a local lab of five real systemd hosts, driven through the
# whole flow with SQLite (data/mko.db) as the store. Run as root on Debian 12 or Ubuntu.
# MicroK8s on lab hosts is a test double (snaps cannot run there): see ts/lab/standin/README.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/bootstrap.sh"
cd "$root"
export PATH="$root/.runtime/node/bin:$PATH"

mko() { "$root/bin/mko" "$@"; }
step() {
  printf '\n\033[1m== %s\033[0m\n' "$1"
  shift
  printf '$ mko %s\n' "$*"
  mko "$@"
}

# Every run starts from a new lab: a lab left by an earlier run goes first, with its cluster, its
# nodes and what hangs off them (the UPS on lab-n6 and its rules). Nothing else in the database is
# touched.
step "0. Remove the lab of an earlier run, if any" lab down
step "1. Bring up the lab, register it as cluster 'lab', paste each node's set-up instructions, test SSH" lab up --nodes 6
step "   lab-n6 is the UPS host (a Pi with the UPS on USB): not a cluster member" cluster unassign lab-n6
step "2. Every node's key is verified" node ssh-status --cluster lab
printf '\n$ ansible-inventory --graph cluster_lab\n'
ansible-inventory --graph cluster_lab
step "3. Every member in /etc/hosts on every node, checked with getent" cluster configure-hosts lab
step "4. Hardware reports from every node" hardware collect lab
step "   One node's report" hardware show lab-n1
step "5. Form the MicroK8s cluster: prerequisites, /etc/hosts, install, HA control plane, workers, addons" cluster setup lab
step "   Its status, read from every node" cluster status lab
step "   Its kubeconfig (0600)" cluster kubeconfig lab

# 6. Power drill: a real upsd with the dummy-ups driver on lab-n6, upsmon on every node, mko's
# watcher on this machine, and two rules. The dummy UPS goes on battery, then power returns.
dummy_ups() {
  printf '\n$ (the UPS reports %s)\n' "$1"
  ansible lab-n6 --become -m ansible.builtin.copy -o \
    -a "dest=/etc/nut/dummy.dev owner=root group=nut mode=0640 content='battery.charge: 100\nbattery.runtime: 1800\ninput.voltage: 230\nups.load: 20\nups.status: $1\n'" >/dev/null
}
last_op() { # id of the newest operation, 0 when there is none
  mko operation list --json --limit 1 | node -e "const ops = JSON.parse(require('fs').readFileSync(0, 'utf8')); console.log(ops[0]?.id ?? 0)"
}
wait_for_op() { # kind after: wait until an operation of that kind newer than operation <after> has finished; fail unless it succeeded
  local status
  for _ in $(seq 1 180); do
    status=$(mko operation list --json --limit 20 |
      node -e "const ops = JSON.parse(require('fs').readFileSync(0, 'utf8')); const op = ops.find((o) => o.kind === '$1' && o.id > $2 && o.status !== 'running'); console.log(op ? op.status : '')")
    if [ -n "$status" ]; then
      [ "$status" = succeeded ] && return 0
      echo "demo: the $1 operation ended $status (mko operation list shows it)" >&2
      return 1
    fi
    sleep 2
  done
  echo "demo: no $1 operation finished in time" >&2
  return 1
}
step "6. Power drill: register the UPS on lab-n6" ups add rack --host lab-n6 --driver dummy-ups --port dummy.dev --option mode=dummy-loop --option pollinterval=1
step "   NUT: upsd + driver on lab-n6, upsmon secondaries on the cluster (harmless SHUTDOWNCMD in the lab)" \
  ups setup rack --secondaries lab --shutdown-cmd '/usr/bin/logger -t upsmon "SHUTDOWNCMD (mko demo: not shutting down)"'
step "   Rule: power lost for 5 s -> graceful, quorum-aware shutdown" ups rules create rack lab power_loss graceful_shutdown --action-delay 5 --drain-timeout 10 --name off
step "   Rule: power back -> wake and ordered startup" ups rules create rack lab power_restored startup --name on
printf '\n$ mko ups monitor start   (in the background)\n'
mko ups monitor start --dead-time 10 > data/demo-watcher.log 2>&1 &
watcher=$!
trap 'kill "$watcher" 2>/dev/null || true' EXIT
sleep 3
step "   The UPS, live from upsd" ups status
before=$(last_op)
dummy_ups "OB DISCHRG"
wait_for_op shutdown "$before"
step "   Every cluster node is off, lab-n6 (the UPS host) still on" lab status
before=$(last_op)
dummy_ups "OL"
wait_for_op startup "$before"
kill "$watcher" 2>/dev/null || true
# Its own exit first: mko web --with-watcher refuses to start beside a watcher still stopping.
wait "$watcher" 2>/dev/null || true
step "   Back: HA and Ready" cluster status lab
step "   What the watcher saw" ups events --limit 5
step "7. Diagnostics after the power drill: every check of mko doctor, with the fix of any that does not pass" doctor lab
step "   The cheap checks stored as the cluster's health (what the mko-health timer runs every 5 minutes)" health watch --once lab
step "   Its health" health
step "8. The cluster in the database" cluster show lab
step "   The history of everything above" operation list --limit 12

mko web stop > /dev/null
step "9. The web UI and REST API: a token (shown once)" web token create --name "demo-$(date +%s)" --scope admin
printf '\n$ mko web --port 8080   (in the background, with the watcher)\n'
nohup bin/mko web --port 8080 --with-watcher > data/demo-web.log 2>&1 &
for _ in $(seq 1 50); do bin/mko web status | grep -q running && break; sleep 0.2; done
step "   It runs" web status

cat <<'EOT'

The lab and mko web are still running. Try, for example:
  open http://127.0.0.1:8080/ and log in with the token printed above
  curl -H "Authorization: Bearer <token>" http://127.0.0.1:8080/api/v1/nodes
  bin/mko lab status                       which hosts are on
  bin/mko operation show <id> --log        what a run did
  ansible-playbook playbooks/hosts.yml -e mko_hosts_target=cluster_lab   (recorded too)
Stop them with: bin/mko web stop; bin/mko lab down
EOT
