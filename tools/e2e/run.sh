#!/usr/bin/env bash
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.
# tox -e e2e: install what the real libvirt/QEMU test bed needs, bring the bed
# up (shared instance storage, then separate storage for block migration),
# run the scenarios, tear everything down by PID (also on failure), check
# that nothing is left running, print "N passed, N failed".
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export E2E_VENV=${E2E_VENV:-${VIRTUAL_ENV:-$REPO/.tox/e2e}}
export E2E_ROOT=${E2E_ROOT:-/var/tmp/nova-rescue-lm-e2e}
export E2E_STATE=$E2E_ROOT/run
PY=$E2E_VENV/bin/python
RESULTS=$E2E_ROOT/results.jsonl
MODES=${E2E_MODES:-shared block}
# The script run against each bed (tests/e2e/scenarios.py by default; the
# benchmarks use the same bed with their own script).
SCRIPT=${E2E_SCRIPT:-$REPO/tests/e2e/scenarios.py}
T0=$(date +%s)

say() { printf '%s e2e: %s\n' "$(date +%H:%M:%S)" "$*"; }
record() {  # record NAME passed(true|false) ERROR
  "$PY" -c 'import json,sys; print(json.dumps({"name": sys.argv[1], "passed": sys.argv[2] == "true", "error": sys.argv[3], "timings": []}))' \
    "$1" "$2" "${3:-}" >>"$RESULTS"
}

if [ "$(id -u)" != 0 ]; then
  echo "e2e: SKIPPED: the real-hypervisor bed needs root (namespaces, libvirtd)"; exit 0
fi
"$HERE/install-debs.sh"; rc=$?
if [ $rc = 3 ]; then
  echo "e2e: SKIPPED: virtualization packages cannot be installed on this machine"; exit 0
elif [ $rc != 0 ]; then
  echo "e2e: installing Debian packages failed"; exit 1
fi
# Built from source against the Debian libvirt installed above.
PIP_CONSTRAINT="$REPO/constraints.txt $HERE/constraints-extra.txt" \
  "$PY" -m pip install -q libvirt-python uWSGI PyMySQL python-novaclient || exit 1
"$PY" -c 'import nova.virt.rescue_lm, nova_rescue_lm, libvirt' || {
  echo "e2e: the package is not installed (regular install) in $E2E_VENV"; exit 1; }

mkdir -p "$E2E_ROOT"
# One bed per machine: its hosts, ports and namespaces are fixed.
exec 9>"$E2E_ROOT.lock"
if ! flock -n 9; then
  say "another bed is running on this machine; waiting for it"
  flock 9
fi
rm -f "$RESULTS"
BED_UP=0
cleanup() {
  trap - EXIT INT TERM
  if [ $BED_UP = 1 ]; then
    bash "$HERE/bed.sh" down
  fi
}
trap 'cleanup; exit 130' INT TERM
trap cleanup EXIT

# Leftovers from an earlier run that died hard
if [ -d "$E2E_STATE/pids" ] && [ -n "$(ls -A "$E2E_STATE/pids")" ]; then
  say "tearing down a bed left by an earlier run"; bash "$HERE/bed.sh" down
fi

for mode in $MODES; do
  say "=== bed: $mode instance storage"
  BED_UP=1
  if ! bash "$HERE/bed.sh" up "$mode" 2>&1 | tee "$E2E_ROOT/bed-up-$mode.log"; then
    record "bed up ($mode instance storage)" false "see $E2E_ROOT/bed-up-$mode.log and $E2E_STATE/log/"
    bash "$HERE/bed.sh" down; BED_UP=0
    continue
  fi
  "$PY" "$SCRIPT" --mode "$mode" --results "$RESULTS"
  bash "$HERE/bed.sh" footprint
  # keep this bed's logs for a look after the run
  rm -rf "$E2E_ROOT/logs-$mode"; cp -a "$E2E_STATE/log" "$E2E_ROOT/logs-$mode"
  bash "$HERE/bed.sh" down; BED_UP=0
done

left=$(bash "$HERE/bed.sh" leftovers)
if [ -n "$left" ]; then
  record "teardown leaves nothing running" false "$left"
else
  record "teardown leaves nothing running" true ""
fi
trap - EXIT INT TERM

echo
echo "=== e2e results ($(( $(date +%s) - T0 ))s in all)"
"$PY" - "$RESULTS" <<'PYEOF'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
for r in rs:
    print('%s  %s' % ('PASS' if r['passed'] else 'FAIL', r['name']))
    if not r['passed'] and r.get('error'):
        print('      reason: %s' % r['error'].strip().replace('\n', '\n      '))
    if r.get('note'):
        print('      note: %s' % r['note'])
p = sum(r['passed'] for r in rs)
print('%d passed, %d failed' % (p, len(rs) - p))
sys.exit(0 if p == len(rs) else 1)
PYEOF
