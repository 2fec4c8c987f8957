#!/usr/bin/env bash
# Every check mko has: type check, YAML and Ansible lint, and the whole test suite
# (unit, database, real ssh/sshd, real ansible-playbook, lab and scenario tests).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/bootstrap.sh"
cd "$root"
echo "==> type check"
npm run --silent typecheck
echo "==> yamllint"
yamllint --strict .
echo "==> ansible-lint (production profile)"
ansible-lint
echo "==> hardware collector unit tests (python3 stdlib unittest)"
python3 -B -m unittest discover -s roles/hardware/files -p 'test_*.py'
echo "==> tests"
npx vitest run
