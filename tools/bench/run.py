#!/usr/bin/env python3
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

"""Run every nova-rescue-lm benchmark and print one table (``tox -e bench``).

Each figure is a ratio against stock nova measured in the same run, printed
with its goal and whether it was met:

* in nova's functional harness (one process, no root needed):
  ``tools/bench/api_overhead.py`` (the package's router against nova's) and
  ``tools/bench/drain_scale.py`` (host drain time against N, rescued vs
  active);
* on the real libvirt/QEMU bed (root, Debian 12): ``tools/e2e/run.sh`` with
  ``E2E_SCRIPT=tests/e2e/bench.py``: live migration of a rescued server
  against the same server ACTIVE (wall time, downtime, transfer rate against
  the hosts' TCP throughput), the package's unrescue against nova's stock
  driver's, and a drain of a few servers.

The bed part is skipped, with the reason, under ``--no-bed``, when not root,
when the bed's Debian packages cannot be installed (tools/e2e/install-debs.sh
exits 3) or when this Python environment lacks the bed's Python packages
(``tox -e bench`` installs them). Results also go to a JSON file (``--json``).
Exit status: 0 when every benchmark ran (goals met or not; ``--strict``: and
every goal was met), 1 otherwise.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import report  # noqa: E402

E2E = os.path.join(REPO, 'tools', 'e2e')
BED_SCRIPT = os.path.join(REPO, 'tests', 'e2e', 'bench.py')

#: What each part is expected to report, so that a part that could not run
#: still shows its figures, as not measured, with the reason.
EXPECTED = {
    'api': [('api.detail', 'API: GET /servers/detail at 2.104, package '
             'router / nova router', 1.02),
            ('api.detail_2.105', 'API: GET /servers/detail at 2.105 '
             'through the package / at 2.104 through nova', 1.02),
            ('api.migrate_active', 'API: os-migrateLive of an ACTIVE '
             'server at 2.104, package router / nova router', 1.02),
            ('api.migrate_rescued', 'API: os-migrateLive of a RESCUED '
             'server at 2.105 / of an ACTIVE server at 2.104', 1.05),
            ('api.migrate_rescued_own', 'API: the same, without placement\'s '
             'handling of the check\'s requests (context)', None)],
    'drain': [('drain.linear_active', 'Drain (harness): time vs N, active',
               None),
              ('drain.linear_rescued', 'Drain (harness): time vs N, '
               'rescued', None),
              ('drain.linear_rescued_ephemeral', 'Drain (harness): time vs '
               'N, rescued with an ephemeral disk', None),
              ('drain.rescued_vs_active', 'Drain (harness): rescued / '
               'active', 1.1),
              ('drain.rescued_ephemeral_vs_rescued', 'Drain (harness): '
               'rescued with an ephemeral disk / rescued (context)', None)],
    'bed': [('bed.migrate_wall.shared', 'Live migration on the bed (shared '
             'storage): wall time, RESCUED / ACTIVE', 1.1),
            ('bed.migrate_downtime.shared', 'Live migration on the bed '
             '(shared storage): guest downtime, RESCUED / ACTIVE', 1.1),
            ('bed.transfer_rate.shared', 'Live migration on the bed (shared '
             'storage): transfer rate vs TCP throughput', None),
            ('bed.unrescue_active', 'Unrescue on the bed: package / nova',
             1.2),
            ('bed.drain.rescued_vs_active', 'Drain on the bed: rescued / '
             'active', 1.1),
            ('bed.migrate_wall.block', 'Live migration on the bed (block '
             'migration): wall time, RESCUED / ACTIVE', 1.1),
            ('bed.migrate_downtime.block', 'Live migration on the bed '
             '(block migration): guest downtime, RESCUED / ACTIVE', 1.1)] + [
        (fid % key, title % key, limit)
        for key in ('ssh.1g', 'ssh.4g', 'ssh.10g', 'rsync.1g', 'rsync.10g')
        for fid, title, limit in (
            ('bed.block_wall.%s', 'Block migration on the bed, ephemeral '
             'disk and config drive (%s): wall time, RESCUED / ACTIVE', 1.1),
            ('bed.block_downtime.%s', 'Block migration on the bed, '
             'ephemeral disk and config drive (%s): downtime, RESCUED / '
             'ACTIVE', 1.1))],
}


def say(text):
    print('%s bench: %s' % (time.strftime('%H:%M:%S'), text), flush=True)


def machine():
    """What the figures were measured on."""
    info = {'date': datetime.datetime.now(datetime.timezone.utc).strftime(
        '%Y-%m-%d %H:%M UTC'), 'python': platform.python_version(),
        'kernel': platform.release(), 'cores': os.cpu_count()}
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                info['cpu'] = line.split(':', 1)[1].strip()
                break
        for line in open('/proc/meminfo'):
            if line.startswith('MemTotal'):
                info['memory_gib'] = round(int(line.split()[1]) / 2 ** 20, 1)
        info['load_before'] = open('/proc/loadavg').read().split()[:3]
    except OSError:
        pass
    info['kvm'] = os.path.exists('/dev/kvm')
    try:
        from importlib import metadata
        info['nova'] = metadata.version('nova')
        info['nova_rescue_lm'] = metadata.version('nova-rescue-lm')
    except Exception:  # noqa: informative only
        pass
    return info


def machine_line(info):
    return '%s, %s cores, %s GiB RAM, kernel %s, nova %s, load before %s' % (
        info.get('cpu'), info.get('cores'), info.get('memory_gib'),
        info.get('kernel'), info.get('nova'),
        ' '.join(info.get('load_before', [])) or '?')


def _stream(cmd, env=None, timeout=None, prefix=''):
    """Run CMD, echo its output as it comes; return its exit code."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=REPO)
    started = time.monotonic()
    try:
        for line in proc.stdout:
            sys.stdout.write(prefix + line)
            sys.stdout.flush()
            if timeout and time.monotonic() - started > timeout:
                proc.terminate()
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        raise


def _missing(part, reason):
    out = []
    for fid, title, limit in EXPECTED[part]:
        out.append(report.skipped(fid, title, reason, limit=limit))
    return out


def run_harness(part, script, args, workdir):
    path = os.path.join(workdir, '%s.json' % part)
    cmd = [sys.executable, os.path.join(HERE, script), '--json', path,
           '--log', os.path.join(workdir, '%s.log' % part)]
    if args.quick:
        cmd.append('--quick')
    say('%s (nova\'s functional harness, one process)' % script)
    rc = _stream(cmd, prefix='  ')
    if rc != 0 or not os.path.exists(path):
        return None, _missing(part, '%s failed (exit %s); see %s' % (
            script, rc, os.path.join(workdir, '%s.log' % part)))
    with open(path) as f:
        data = json.load(f)
    return data, data['figures']


def _bed_unavailable(args):
    if args.no_bed:
        return 'skipped (--no-bed)'
    if os.geteuid() != 0:
        return ('skipped: the real libvirt/QEMU bed needs root '
                '(namespaces, libvirtd)')
    try:
        import keystone  # noqa: F401
    except ImportError:
        return ('skipped: this environment lacks the bed\'s Python packages '
                '(keystone, PyMySQL, ...); run it as `tox -e bench`')
    rc = subprocess.run(['bash', os.path.join(E2E, 'install-debs.sh')],
                        cwd=REPO).returncode
    if rc == 3:
        return ('skipped: the bed\'s Debian packages (QEMU, libvirt, '
                'MariaDB, RabbitMQ, ...) cannot be installed on this '
                'machine')
    if rc != 0:
        return 'skipped: installing the bed\'s Debian packages failed'
    return None


def run_bed(args, workdir):
    """(results or None, figures, whether nothing went wrong)."""
    reason = _bed_unavailable(args)
    if reason:
        say('real bed: %s' % reason)
        return {'skipped': reason}, _missing('bed', reason), True
    out = os.path.join(workdir, 'bed.jsonl')
    env = dict(os.environ)
    env.update({
        'E2E_VENV': sys.prefix, 'E2E_SCRIPT': BED_SCRIPT,
        'E2E_MODES': args.modes, 'E2E_BENCH_OUT': out,
        'E2E_BENCH_REPS': str(2 if args.quick else 4),
        'E2E_BENCH_BLOCK_REPS': str(2 if args.quick else 6),
        'E2E_BENCH_UNRESCUE_REPS': str(2 if args.quick else 4),
        'E2E_BENCH_DRAIN': '1 2' if args.quick else '1 2 3',
        'E2E_BENCH_DRAIN_ROUNDS': str(1 if args.quick else 2),
    })
    say('real bed: tools/e2e/run.sh with E2E_SCRIPT=tests/e2e/bench.py, '
        'E2E_MODES="%s" (waits if another bed runs on this machine)'
        % args.modes)
    rc = _stream(['bash', os.path.join(E2E, 'run.sh')], env=env,
                 prefix='  ')
    lines = []
    if os.path.exists(out):
        with open(out) as f:
            lines = [json.loads(line) for line in f if line.strip()]
    figs = [fig for line in lines for fig in line.get('figures', [])]
    failed = ['%s: %s' % (line['name'], line['error'])
              for line in lines if not line['passed']]
    for i, line in enumerate(lines):
        if not line['passed']:
            figs.append(report.skipped(
                'bed.failed.%d' % i, line['name'],
                'failed: %s' % line['error'][:300]))
    if not figs:
        why = 'the bed run produced no figures (run.sh exit %s)' % rc
        if failed:
            why += ': ' + '; '.join(failed)
        return {'rc': rc, 'sections': lines}, _missing('bed', why), False
    return {'rc': rc, 'sections': lines, 'failed': failed}, figs, \
        not failed


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='nova-rescue-lm benchmarks against stock nova.')
    parser.add_argument('--quick', action='store_true',
                        help='fewer repetitions everywhere (a smoke run: '
                             'figures are noisier)')
    parser.add_argument('--no-bed', action='store_true',
                        help='skip the real libvirt/QEMU bed')
    parser.add_argument('--only', default='api,drain,bed',
                        help='comma-separated parts: api, drain, bed '
                             '(default: all)')
    parser.add_argument('--modes', default=None,
                        help='bed instance storage modes (default "shared '
                             'block"; --quick: "shared")')
    parser.add_argument('--json', help='write all results here (default: '
                                       'results.json in a new temporary '
                                       'directory)')
    parser.add_argument('--strict', action='store_true',
                        help='exit 1 when a goal is missed')
    args = parser.parse_args(argv)
    if args.modes is None:
        args.modes = 'shared' if args.quick else 'shared block'
    parts = [p.strip() for p in args.only.split(',') if p.strip()]
    workdir = tempfile.mkdtemp(prefix='nova-rescue-lm-bench-')
    json_path = args.json or os.path.join(workdir, 'results.json')
    started = time.monotonic()
    info = machine()
    say('machine: %s, %s cores, %s GiB, kernel %s, nova %s, '
        'nova-rescue-lm %s; load %s' % (
            info.get('cpu'), info.get('cores'), info.get('memory_gib'),
            info.get('kernel'), info.get('nova'),
            info.get('nova_rescue_lm'), ' '.join(info.get('load_before',
                                                          []))))
    results = {'machine': info, 'quick': args.quick, 'parts': {}}
    figures = []
    ran_ok = True
    for part, script in (('api', 'api_overhead.py'),
                         ('drain', 'drain_scale.py')):
        if part not in parts:
            continue
        data, figs = run_harness(part, script, args, workdir)
        results['parts'][part] = data
        ran_ok &= data is not None
        figures.extend(figs)
    if 'bed' in parts:
        data, figs, ok = run_bed(args, workdir)
        results['parts']['bed'] = data
        ran_ok &= ok
        figures.extend(figs)
    results['figures'] = figures
    results['seconds'] = time.monotonic() - started
    with open(json_path, 'w') as f:
        json.dump(results, f, indent=1, default=str)
    print()
    print('nova-rescue-lm benchmarks (%s; %.0f s in all)%s' % (
        info['date'], results['seconds'],
        ' -- QUICK: fewer repetitions' if args.quick else ''))
    bed_ran = 'bed' in parts and 'skipped' not in (
        results['parts'].get('bed') or {'skipped': True})
    print('machine: %s%s' % (machine_line(info),
                             ', bed guests under TCG' if bed_ran else ''))
    print(report.render_table(figures))
    print()
    print(report.render_goals(figures, machine_line(info)))
    missed = [f for f in figures if f['met'] is False]
    skipped = [f for f in figures if f.get('skipped')]
    print('%d figures: %d met, %d missed, %d not measured, %d context; '
          'results in %s' % (
              len(figures), sum(1 for f in figures if f['met']),
              len(missed), len(skipped),
              sum(1 for f in figures if f['met'] is None and
                  not f.get('skipped')), json_path))
    if not ran_ok:
        return 1
    return 1 if (args.strict and missed) else 0


if __name__ == '__main__':
    sys.exit(main())
