#!/usr/bin/env bash
# Every check mko has: type check, YAML and Ansible lint, and the whole test suite
# (unit, database, real ssh/sshd, real ansible-playbook, lab and scenario tests).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/bootstrap.sh" --tests
cd "$root"
# The Node.js LTS the bootstrap chose (.runtime/node) runs the type check and the tests.
export PATH="$root/.runtime/node/bin:$PATH"
echo "==> type check"
npm run --silent typecheck
echo "==> yamllint"
yamllint --strict .
echo "==> ansible-lint (production profile)"
ansible-lint
echo "==> mko.fleet collection unit tests (stdlib unittest, with the Python that runs Ansible)"
/usr/bin/python3 -B -m unittest discover -s collections/ansible_collections/mko/fleet/tests/unit -p 'test_*.py'
echo "==> auto-sleep evaluator unit tests (roles/autosleep)"
/usr/bin/python3 -B -m unittest discover -s roles/autosleep/tests/unit -p 'test_*.py'
echo "==> tests"
npx vitest run
