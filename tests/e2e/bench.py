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

"""Benchmarks on the real libvirt/QEMU bed (tools/e2e/bed.sh), run by
``tools/e2e/run.sh`` with ``E2E_SCRIPT=tests/e2e/bench.py`` (which
``tools/bench/run.py`` sets)::

    python tests/e2e/bench.py --mode shared|block --results FILE

Uses the helpers of tests/e2e/scenarios.py (nova's REST API with a real
keystone token, the marker guest's console, virsh on each host's libvirtd
socket). Sections, each a JSON line in FILE (run.sh's result format, plus
``figures``) and, when ``E2E_BENCH_OUT`` names a file, the figures there too:

* live migration (both modes): one server, ACTIVE and RESCUED in turn on
  the same host pair, interleaved (A then R, then R then A, ...): wall time
  from the request to the task's end, libvirt's own job time, guest
  downtime and bytes sent (``virsh domjobinfo --completed`` on the
  destination), the 202 latency, and the transfer rate against TCP
  throughput between the two host namespaces (iperf3, or a socket pump);
* block migration in full (block mode only): a fresh server with a config
  drive and an ephemeral disk of 1, 4 or 10 GiB, ACTIVE and RESCUED in
  turn, for each ``[libvirt] remote_filesystem_transport``; before every
  migration the destination's ephemeral and swap bases are removed, as on
  a host that never ran such a server (nova runs mkfs there for the ACTIVE
  server, the package copies the source's base for the RESCUED one); wall
  time and downtime ratios, each configuration alone and all pooled, the
  same ratios for a control arm (the ACTIVE migration a second time in the
  rotation: what two identical arms differ by on this machine), how the
  wall time grows with the size, and where a RESCUED migration spends more
  than an ACTIVE one (the mean time of each phase, from the compute logs:
  tools/bench/phases.py);
* unrescue (first mode only): the package's unrescue (hard reboot rebuilt
  from the database) on e2e-h1 against nova's stock driver's
  ``unrescue.xml`` unrescue on e2e-h3, interleaved;
* drain (first mode only): ``nova-rescue-lm-drain``'s core on a keystone
  session (``e2e-hX --target e2e-hY --max-parallel 1``) of N = 1, 2, 3
  servers, all ACTIVE or all RESCUED in turn (the same servers).

Environment: E2E_BENCH_REPS (live-migration repetitions, each one ACTIVE
and one RESCUED migration; default 6), E2E_BENCH_UNRESCUE_REPS (default 4),
E2E_BENCH_DRAIN (sizes, default "1 2 3"; empty: no drain),
E2E_BENCH_DRAIN_ROUNDS (default 2), E2E_BENCH_BLOCK (transports and
ephemeral sizes, default "ssh:1,4,10 rsync:1,10"), E2E_BENCH_BLOCK_REPS
(default 4), E2E_BENCH_BLOCK_CONTROL (0: no control arm in the block
section; default 1), E2E_BENCH_SETTLE (seconds a guest gets after a rescue
or unrescue before it is migrated; default 10), E2E_BENCH_SECTIONS
(default "migrate block unrescue drain").
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

from oslo_serialization import jsonutils

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(REPO, 'tools', 'bench'))

import phases  # noqa: E402
import report  # noqa: E402
import scenarios as e2e  # noqa: E402
from scenarios import action  # noqa: E402
from scenarios import call  # noqa: E402
from scenarios import Failed  # noqa: E402
from scenarios import log  # noqa: E402
from scenarios import server  # noqa: E402
import stats  # noqa: E402

H1, H2 = 'e2e-h1', 'e2e-h2'
STOCK_HOST = 'e2e-h3'
ADDR = {'e2e-h1': '10.250.0.1', 'e2e-h2': '10.250.0.2',
        'e2e-h3': '10.250.0.3'}
POLL = 0.1


def other(host):
    return H2 if host == H1 else H1


# ------------------------------------------------------------ measuring

def wait_task_done(sid, timeout=300):
    """Poll (every POLL s) until the server has no task; return it."""
    end = time.time() + timeout
    while time.time() < end:
        s = server(sid)
        if s['status'] == 'ERROR':
            raise Failed('server went to ERROR: %s' % s.get('fault'))
        if s['OS-EXT-STS:task_state'] is None and \
                s['status'] not in ('MIGRATING', 'BUILD', 'REBOOT',
                                    'HARD_REBOOT'):
            return s
        time.sleep(POLL)
    raise Failed('server %s still busy after %ss' % (sid, timeout))


_SIZE = {'B': 1, 'KiB': 2 ** 10, 'MiB': 2 ** 20, 'GiB': 2 ** 30,
         'TiB': 2 ** 40}


def domjobinfo(host, dom):
    """libvirt's statistics of the domain's last completed job on HOST."""
    out = e2e._virsh(host, 'domjobinfo', dom, '--completed')
    info = {}
    for line in out.splitlines():
        key, _, value = line.partition(':')
        value = value.strip()
        m = re.match(r'^(-?[\d.]+)\s*(ms|B|KiB|MiB|GiB|TiB)?', value)
        if not m:
            info[key.strip()] = value
            continue
        number, unit = float(m.group(1)), m.group(2)
        if unit in _SIZE:
            number *= _SIZE[unit]
        info[key.strip()] = number
    return info


def guest_still_running(sid, role, bootid, after):
    """The same guest (boot id) ticks past AFTER: it was live-migrated,
    not rebooted.
    """
    e2e.wait_tick(sid, role, bootid, after, 60)


#: statuses of a migration that nova no longer works on
MIGRATION_ENDED = ('completed', 'error', 'failed', 'cancelled', 'done')


def live_migrate(sid, dst, block, version, role, bootid, label=None):
    """Live-migrate SID (its guest ticking as ROLE, BOOTID) to DST; return
    the measurements, logged under LABEL (ROLE by default).
    """
    n_before = e2e.last_tick(e2e.console(sid))[2]
    body = {'os-migrateLive': {'host': dst, 'block_migration': block}}
    t0 = time.time()
    r = action(sid, body, version=version, ok=None)
    api = time.time() - t0
    if r.status_code != 202:
        raise Failed('os-migrateLive at %s answers %s %s' % (
            version, r.status_code, r.text[:300]))
    s = wait_task_done(sid)
    wall = time.time() - t0
    if s['OS-EXT-SRV-ATTR:host'] != dst:
        raise Failed('server did not move to %s: %s on %s; %s' % (
            dst, s['status'], s['OS-EXT-SRV-ATTR:host'],
            e2e.action_events(sid)))
    job = domjobinfo(dst, s['OS-EXT-SRV-ATTR:instance_name'])
    guest_still_running(sid, role, bootid, n_before)
    # The source's post-migration (its cleanup, resource and placement
    # updates) goes on after the server's task ended; the next request must
    # not share the CPU with it, whatever kind it is.
    e2e.wait('the migration of %s to end on the source' % sid,
             lambda: all(m['status'] in MIGRATION_ENDED
                         for m in e2e.migrations(sid)), 120, 0.2)
    sample = {
        'wall': wall, 'api': api, 'status': s['status'],
        'request_id': r.headers.get('x-openstack-request-id'),
        'answered': t0 + api,
        'job_ms': job.get('Time elapsed'),
        'downtime_ms': job.get('Total downtime'),
        'data_bytes': job.get('Data processed'),
        'memory_bytes': job.get('Memory processed'),
        'file_bytes': job.get('File processed'),
        'job': job}
    log('%-8s -> %s: wall %.2fs (202 in %.0f ms), libvirt job %s ms, '
        'downtime %s ms, %.1f MiB sent' % (
            label or role, dst, wall, api * 1e3, sample['job_ms'],
            sample['downtime_ms'], (sample['data_bytes'] or 0) / 2 ** 20))
    return sample


def interleaved(sid, bootid, reps, block, before=None, control=False):
    """REPS live migrations of server SID (on H1, its guest BOOTID) ACTIVE
    at 2.104 and as many RESCUED at 2.105, in turn between H1 and H2, the
    order rotating every repetition (A then R, then R then A, ...);
    ``before(destination)`` runs before each. With CONTROL, a third kind,
    'control', is the same ACTIVE migration again in the rotation: the
    ratio of two identical arms shows what this machine can resolve.
    """
    kinds = ['active', 'rescued'] + (['control'] if control else [])
    samples = {kind: [] for kind in kinds}
    host = H1
    for rep in range(reps):
        shift = rep % len(kinds)
        for kind in kinds[shift:] + kinds[:shift]:
            if kind == 'rescued':
                role, boot, version = 'rescue', rescue(sid, host), '2.105'
                settle()
            else:
                role, boot, version = 'main', bootid, '2.104'
            if before:
                before(other(host))
            samples[kind].append(live_migrate(
                sid, other(host), block, version, role, boot, label=kind))
            host = other(host)
            if kind == 'rescued':
                _active, _tick, bootid = unrescue(sid, host)
                settle()
    return samples


def settle():
    """Let a guest that just booted (rescue, unrescue) settle before it is
    migrated: every migration then starts from a guest that has run a
    while, as a server being drained has (E2E_BENCH_SETTLE seconds, 10 by
    default; a freshly booted guest was measured to take 0.3 to 0.5 s
    longer to migrate, which only the RESCUED arm always paid).
    """
    time.sleep(float(os.environ.get('E2E_BENCH_SETTLE', '10')))


def rescue(sid, host):
    action(sid, {'rescue': {'rescue_image_ref': e2e.RESCUE_IMAGE}})
    e2e.wait_state(sid, 'RESCUE', host)
    return e2e.wait_tick(sid, 'rescue', None, 0)[1]


def unrescue(sid, host):
    """Unrescue; (seconds to ACTIVE, seconds to the first tick of the
    original guest, its boot id).
    """
    before = e2e.last_tick(e2e.console(sid))
    t0 = time.time()
    action(sid, {'unrescue': None})
    s = wait_task_done(sid)
    active = time.time() - t0
    if s['status'] != 'ACTIVE' or s['OS-EXT-SRV-ATTR:host'] != host:
        raise Failed('unrescue left %s on %s' % (
            s['status'], s['OS-EXT-SRV-ATTR:host']))

    def ticking():
        t = e2e.last_tick(e2e.console(sid, 20))
        if t and t[0] == 'main' and (before is None or t[1] != before[1]):
            return t
    tick = e2e.wait('the original guest ticking', ticking, 120, 0.25)
    return active, time.time() - t0, tick[1]


# ------------------------------------------------------------ link rate

def _netns(host):
    return ['ip', 'netns', 'exec', 'e2e-rlm-' + host.replace('e2e-', '')]


def _have_iperf3():
    if shutil.which('iperf3'):
        return True
    if os.getuid() != 0 or not shutil.which('apt-get'):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    r = subprocess.run(['apt-get', 'install', '-y', '-qq',
                        '--no-install-recommends', 'iperf3'],
                       capture_output=True, text=True, env=env)
    return r.returncode == 0 and bool(shutil.which('iperf3'))


def link_rate(src, dst, seconds=5):
    """TCP throughput SRC -> DST between the host namespaces, bytes/s, and
    how it was measured.
    """
    if _have_iperf3():
        server_proc = subprocess.Popen(
            _netns(dst) + ['iperf3', '-s', '-1', '-B', ADDR[dst], '-p',
                           '35201'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            r = subprocess.run(
                _netns(src) + ['iperf3', '-c', ADDR[dst], '-p', '35201',
                               '-t', str(seconds), '-J'],
                capture_output=True, text=True, timeout=seconds + 30)
            data = jsonutils.loads(r.stdout)
            rate = data['end']['sum_received']['bits_per_second'] / 8
            return rate, 'iperf3, one TCP stream, %ds' % seconds
        finally:
            server_proc.kill()
            server_proc.wait()
    return _pump_rate(src, dst, seconds), \
        'python socket pump, one TCP stream, %ds' % seconds


_PUMP_SERVER = r'''
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 35202)); s.listen(1)
print('ready', flush=True)
c, _ = s.accept(); n = 0; t0 = None
buf = bytearray(1 << 20)
while True:
    k = c.recv_into(buf)
    if not k: break
    if t0 is None: t0 = time.time()
    n += k
print(n / (time.time() - t0), flush=True)
'''
_PUMP_CLIENT = r'''
import socket, sys, time
c = socket.create_connection((sys.argv[1], 35202))
buf = b'\0' * (1 << 20); end = time.time() + float(sys.argv[2])
while time.time() < end: c.sendall(buf)
c.close()
'''


def _pump_rate(src, dst, seconds):
    srv = subprocess.Popen(
        _netns(dst) + [sys.executable, '-c', _PUMP_SERVER, ADDR[dst]],
        stdout=subprocess.PIPE, text=True)
    try:
        srv.stdout.readline()
        subprocess.run(_netns(src) + [sys.executable, '-c', _PUMP_CLIENT,
                                      ADDR[dst], str(seconds)],
                       timeout=seconds + 30, check=True)
        return float(srv.stdout.readline())
    finally:
        srv.kill()
        srv.wait()


# ------------------------------------------------------------ sections

class Section(object):
    """One benchmark section: prints, times, records a result line."""

    def __init__(self, name, args):
        self.name = name
        self.args = args
        self.figures = []
        self.raw = {}
        self.timings = []

    def run(self, fn):
        print('\n=== bench: %s' % self.name, flush=True)
        ok, err, total = e2e.run_step(fn, self)
        for fig in self.figures:
            fig['details']['mode'] = self.args.mode
        print('%s bench: %s (%.0fs)%s' % ('PASS' if ok else 'FAIL',
                                          self.name, total,
                                          ('\n     reason: ' + err)
                                          if err else ''), flush=True)
        if self.figures:
            print(report.render_table(self.figures), flush=True)
        line = {'name': 'bench: %s' % self.name, 'passed': ok,
                'error': err, 'note': '', 'total': total,
                'timings': self.timings, 'mode': self.args.mode,
                'figures': self.figures, 'raw': self.raw}
        with open(self.args.results, 'a') as f:
            f.write(jsonutils.dumps(line) + '\n')
        out = os.environ.get('E2E_BENCH_OUT')
        if out:
            with open(out, 'a') as f:
                f.write(jsonutils.dumps(line) + '\n')
        return ok


def _ratio(fid, title, num, den, limit, unit_name, scale=1.0, fmt='%.2f',
           names=('rescued', 'active')):
    """The ratio of the medians of NUM and DEN (the samples of the kinds
    NAMES), with its 95 % interval and each arm's spread.
    """
    r = stats.median_ratio(num, den)
    sn, sd = stats.summary(num), stats.summary(den)

    def describe(s):
        return ('median ' + fmt + ' %s (p10 ' + fmt + ', p90 ' + fmt +
                ', n %d)') % (s['median'] * scale, unit_name,
                              s['p10'] * scale, s['p90'] * scale, s['n'])
    return report.figure(
        fid, title, r['ratio'], limit=limit,
        spread='95%% CI %.3f-%.3f; %s %s; %s %s' % (
            r['ci95'][0], r['ci95'][1], names[0], describe(sn), names[1],
            describe(sd)),
        details={'ci95': r['ci95'], names[0]: sn, names[1]: sd})


def section_migrate(sec):
    """ACTIVE and RESCUED live migrations of one server, interleaved."""
    mode, reps = sec.args.mode, sec.args.reps
    block = mode == 'block'
    e2e.ensure_flavor()
    sid = e2e._boot('bench-lm-%s' % mode, H1)
    bootid = e2e.wait_tick(sid, 'main')[1]
    dom = server(sid)['OS-EXT-SRV-ATTR:instance_name']
    sec.raw['max_speed'] = e2e._virsh(H1, 'migrate-getspeed', dom).strip()
    samples = interleaved(sid, bootid, reps, block)
    call('DELETE', '/servers/%s' % sid, ok=None)
    sec.raw['samples'] = samples

    rate, how = link_rate(H1, H2)
    sec.raw['link'] = {'bytes_per_second': rate, 'how': how}

    def col(kind, key, default=None):
        return _column([samples], kind, key, default)
    label = 'shared storage' if mode == 'shared' else \
        'block migration'
    sec.figures.append(_ratio(
        'bed.migrate_wall.%s' % mode,
        'Live migration on the bed (%s): wall time (request to task end), '
        'RESCUED / ACTIVE, same server' % label,
        col('rescued', 'wall'), col('active', 'wall'), 1.1, 's'))
    sec.figures.append(_ratio(
        'bed.migrate_job.%s' % mode,
        'Live migration on the bed (%s): libvirt job time, RESCUED / '
        'ACTIVE' % label,
        col('rescued', 'job_ms', 0), col('active', 'job_ms', 0), 1.1, 'ms',
        fmt='%.0f'))
    down_r = col('rescued', 'downtime_ms', 0)
    down_a = col('active', 'downtime_ms', 0)
    if min(down_a) > 0:
        sec.figures.append(_ratio(
            'bed.migrate_downtime.%s' % mode,
            'Live migration on the bed (%s): guest downtime (libvirt), '
            'RESCUED / ACTIVE' % label, down_r, down_a, 1.1, 'ms',
            fmt='%.0f'))
    else:
        sec.figures.append(report.skipped(
            'bed.migrate_downtime.%s' % mode,
            'Live migration on the bed (%s): guest downtime' % label,
            'libvirt reported no downtime on the destination', limit=1.1))
    sec.figures.append(_ratio(
        'bed.api_migrate.%s' % mode,
        'API on the bed (uWSGI, MariaDB, keystone): os-migrateLive 202 '
        'latency, RESCUED at 2.105 / ACTIVE at 2.104', col('rescued', 'api'),
        col('active', 'api'), 1.05, 'ms', scale=1e3, fmt='%.0f'))
    first = samples['rescued'][0]['api'] * 1e3
    if first > 2 * stats.median(col('rescued', 'api')) * 1e3:
        sec.figures[-1]['note'] = (
            'the first RESCUED request took %.0f ms: nova-api\'s placement '
            'client is made, and gets its keystone token, on its first use '
            'in the API process (once)' % first)
    rates = []
    for kind in ('active', 'rescued'):
        for s in samples[kind]:
            if s['data_bytes'] and s['job_ms']:
                rates.append(s['data_bytes'] / (s['job_ms'] / 1e3))
    if rates:
        rate_mib = stats.median(rates) / 2 ** 20
        link_mib = rate / 2 ** 20
        sec.figures.append(report.figure(
            'bed.transfer_rate.%s' % mode,
            'Live migration on the bed (%s): transfer rate (bytes libvirt '
            'sent / job time), median of all migrations' % label,
            rate_mib, unit='MiB/s', goal='context (no goal)',
            spread='%.1f%% of the TCP throughput between the two host '
                   'namespaces, %.0f MiB/s (%s); p10 %.0f, p90 %.0f MiB/s; '
                   'median bytes sent %.1f MiB; libvirt migration speed '
                   'limit %s MiB/s (virsh migrate-getspeed)' % (
                       100.0 * rate_mib / link_mib, link_mib, how,
                       stats.percentile(rates, 10) / 2 ** 20,
                       stats.percentile(rates, 90) / 2 ** 20,
                       stats.median([s['data_bytes'] for k in samples
                                     for s in samples[k]
                                     if s['data_bytes']]) / 2 ** 20,
                       sec.raw.get('max_speed')),
            details={'link_mib_s': link_mib, 'link_how': how,
                     'rates_mib_s': [x / 2 ** 20 for x in rates]}))


# ------------------------------------------------ block migration, in full

def ephemeral_flavor(gib):
    """The bed's flavor (128 MB, 1 GB root) with a GIB GiB ephemeral disk.
    """
    fid = 'bench-eph%d' % gib
    if call('GET', '/flavors/%s' % fid, ok=None).status_code != 200:
        call('POST', '/flavors', {'flavor': {
            'name': fid, 'id': fid, 'ram': 128, 'vcpus': 1, 'disk': 1,
            'OS-FLV-EXT-DATA:ephemeral': gib}})
    return fid


def forget_generated_bases(host):
    """HOST has no ephemeral or swap base, as a host that never ran such a
    server (only the migrating server exists, and it is on the other
    host): nova runs mkfs there for an ACTIVE server, the package copies
    the source's base for a rescued one.
    """
    base = os.path.join(e2e.STATE, 'hosts', host.replace('e2e-', ''),
                        'instances', '_base')
    gone = []
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        if name.startswith(('ephemeral_', 'swap_')):
            os.unlink(os.path.join(base, name))
            gone.append(name)
    return gone


def set_transport(transport):
    """``[libvirt] remote_filesystem_transport`` on both computes; each is
    restarted and waited for if it changes.
    """
    for host in (H1, H2):
        short = host.replace('e2e-', '')
        conf = os.path.join(e2e.STATE, 'etc', 'nova', 'nova-%s.conf' % short)
        with open(conf) as f:
            text = f.read()
        new = re.sub(r'(?m)^remote_filesystem_transport = .*\n', '', text)
        new = new.replace('[libvirt]\n', '[libvirt]\nremote_filesystem_'
                          'transport = %s\n' % transport, 1)
        if new == text:
            continue
        e2e.bed('stop-compute', short)
        killed = e2e.service_heartbeat(host)
        with open(conf, 'w') as f:
            f.write(new)
        e2e.bed('start-compute', short)
        e2e.wait('a heartbeat of %s with %s' % (host, transport),
                 lambda: e2e.service_heartbeat(host) != killed, 180, 1)
        e2e.wait('%s up' % host, lambda: e2e.compute_ready(host), 60, 1)


def block_config(transport, gib, reps, control):
    """ACTIVE and RESCUED block migrations (and CONTROL's second ACTIVE
    arm) of a fresh server with a GIB GiB ephemeral disk and a config
    drive, interleaved, the destination without generated bases each time.
    """
    set_transport(transport)
    sid = e2e._boot('bench-block-%s-%d' % (transport, gib), H1,
                    flavor=ephemeral_flavor(gib))
    bootid = e2e.wait_tick(sid, 'main')[1]
    try:
        return interleaved(sid, bootid, reps, True,
                           before=forget_generated_bases, control=control)
    finally:
        call('DELETE', '/servers/%s' % sid, ok=None)


def block_plan():
    """``[(transport, [GiB, ...]), ...]`` from E2E_BENCH_BLOCK
    ("ssh:1,4,10 rsync:1,10" by default).
    """
    plan = []
    for word in os.environ.get('E2E_BENCH_BLOCK',
                               'ssh:1,4,10 rsync:1,10').split():
        transport, _, sizes = word.partition(':')
        plan.append((transport, [int(x) for x in sizes.split(',')]))
    return plan


#: (kind compared with ACTIVE, its title, goal, figure id prefix)
_BLOCK_ARMS = (
    ('rescued', 'RESCUED / ACTIVE', 1.1, 'bed.block'),
    ('control', 'ACTIVE / ACTIVE, the control (the same migration in both '
     'arms)', None, 'bed.block_control'))


#: what _block_ratios compares: (sample key, what it is, unit, format,
#: scale)
_WALL_AND_DOWNTIME = (
    ('wall', 'wall time', 's', '%.2f', 1.0),
    ('downtime_ms', 'guest downtime (libvirt)', 'ms', '%.0f', 1.0))
_API_LATENCY = (('api', 'os-migrateLive 202 latency (RESCUED at 2.105, '
                 'ACTIVE at 2.104)', 'ms', '%.0f', 1e3),)


def _block_ratios(sample_sets, label, suffix, goals=True,
                  measures=_WALL_AND_DOWNTIME):
    """MEASURES of each arm of SAMPLE_SETS against ACTIVE; context only
    unless GOALS.
    """
    figures = []
    arms = [arm for arm in _BLOCK_ARMS if sample_sets[0].get(arm[0])]
    for kind, versus, goal, prefix in arms:
        goal = goal if goals else None
        for name, what, unit, fmt, scale in measures:
            figures.append(_ratio(
                '%s_%s.%s' % (prefix, name.split('_')[0], suffix),
                'Live migration on the bed (%s): %s, %s' % (
                    label, what, versus),
                _column(sample_sets, kind, name, 0),
                _column(sample_sets, 'active', name, 0), goal, unit,
                scale=scale, fmt=fmt, names=(kind, 'active')))
            if goal is None:
                figures[-1]['goal'] = 'context (no goal)'
    return figures


def section_block(sec):
    """Block migration with an ephemeral disk and a config drive: RESCUED /
    ACTIVE for each transport and ephemeral size, how the cost grows with
    the size, and (E2E_BENCH_BLOCK_CONTROL, on by default) the same ratios
    for two identical ACTIVE arms.
    """
    reps = sec.args.block_reps
    control = sec.args.block_control
    sec.raw['configs'] = {}
    for transport, sizes in block_plan():
        medians = {}
        for gib in sizes:
            samples = block_config(transport, gib, reps, control)
            key = '%s.%dg' % (transport, gib)
            sec.raw['configs'][key] = samples
            sec.figures.extend(_block_ratios(
                [samples], 'block migration, %d GiB ephemeral + config '
                'drive, transport %s' % (gib, transport), key))
            medians[gib] = {
                kind: {'wall': stats.median(
                    _column([samples], kind, 'wall', 0)),
                    'job': stats.median(
                        _column([samples], kind, 'job_ms', 0)) / 1e3}
                for kind in ('rescued', 'active')}
        sec.raw.setdefault('growth', {})[transport] = medians
        if len(sizes) > 1:
            sec.figures.append(report.figure(
                'bed.block_growth.%s' % transport,
                'Block migration on the bed (transport %s): wall time '
                'against the ephemeral disk\'s size, RESCUED / ACTIVE at '
                'the largest' % transport,
                medians[sizes[-1]]['rescued']['wall'] /
                medians[sizes[-1]]['active']['wall'],
                goal='context (no goal)', spread='; '.join(
                    '%d GiB: rescued %.1f s (libvirt job %.1f s), active '
                    '%.1f s (job %.1f s)' % (
                        gib, m['rescued']['wall'], m['rescued']['job'],
                        m['active']['wall'], m['active']['job'])
                    for gib, m in sorted(medians.items())),
                details=medians))
    configs = sec.raw['configs']
    if len(configs) > 1:
        for measures in (_WALL_AND_DOWNTIME, _API_LATENCY):
            sec.figures.extend(_block_ratios(
                list(configs.values()), 'block migration, every '
                'configuration above pooled', 'pooled', goals=False,
                measures=measures))
    sec.figures.append(phase_figure(configs))


def _column(sample_sets, kind, key, default):
    """``key`` of every ``kind`` sample in ``sample_sets`` (each one
    configuration's ``{kind: [sample]}``), ``default`` where it was not
    measured.
    """
    return [s[key] if s[key] is not None else default
            for samples in sample_sets for s in samples[kind]]


def phase_figure(configs):
    """Where a RESCUED block migration spends more than an ACTIVE one:
    the mean of each phase (:mod:`phases`, from the compute logs) over
    every block migration of the section, and their difference; with a
    control arm, also the control's mean, which shows how far two
    identical arms differ per phase.
    """
    logs = [os.path.join(e2e.STATE, 'log', 'nova-compute-%s.log' %
                         host.replace('e2e-', '')) for host in (H1, H2)]
    kinds = [k for k in ('rescued', 'active', 'control')
             if any(samples.get(k) for samples in configs.values())]
    means = {}
    for kind in kinds:
        found = phases.phases(logs, [s for samples in configs.values()
                                     for s in samples.get(kind, [])])
        means[kind] = {phase: statistics.mean([d[phase] for d in found])
                       for phase, _message in phases.MARKS} if found else {}
        means[kind]['n'] = len(found)
    if not means.get('rescued') or not means.get('active'):
        return report.skipped(
            'bed.block_phases', 'Block migration on the bed: where the '
            'time goes', 'the compute logs name no complete migration')
    shown = [k for k in kinds if means[k]]

    def minus_active(kind):
        return {phase: means[kind][phase] - means['active'][phase]
                for phase, _message in phases.MARKS}
    extra = minus_active('rescued')
    spread = '; '.join('%s %+.0f ms (%s)' % (
        phase, extra[phase] * 1e3, ', '.join(
            '%s %.0f' % (k, means[k][phase] * 1e3) for k in shown))
        for phase, _m in phases.MARKS)
    details = {'means': means, 'extra': extra}
    if 'control' in shown:
        details['control_extra'] = minus_active('control')
        spread += '; control minus active, summed: %+.0f ms' % (
            sum(details['control_extra'].values()) * 1e3)
    return report.figure(
        'bed.block_phases',
        'Block migration on the bed: RESCUED minus ACTIVE, sum of the '
        'mean phase times from the compute logs (202 to the end of '
        'post-migration)', sum(extra.values()), unit='s',
        goal='context (no goal)',
        spread=spread + '; n %s' % ' / '.join(
            str(means[k]['n']) for k in shown),
        details=details)


def _stock_host_up():
    services = call('GET', '/os-services?binary=nova-compute').json()[
        'services']
    return any(s['host'] == STOCK_HOST and s['state'] == 'up'
               for s in services)


def section_unrescue(sec):
    """The package's unrescue on e2e-h1 against nova's on e2e-h3."""
    reps = sec.args.unrescue_reps
    if not _stock_host_up():
        sec.figures.append(report.skipped(
            'bed.unrescue', 'Unrescue on the bed: package / nova',
            'no compute running nova\'s stock driver (%s) on this bed'
            % STOCK_HOST, limit=1.2))
        return
    e2e.ensure_flavor()
    ids = {'package': e2e._boot('bench-unrescue-pkg', H1),
           'stock': e2e._boot('bench-unrescue-stock', STOCK_HOST)}
    hosts = {'package': H1, 'stock': STOCK_HOST}
    for sid in ids.values():
        e2e.wait_tick(sid, 'main')
    samples = {'package': [], 'stock': []}
    for rep in range(reps):
        for kind in ('package', 'stock'):
            action(ids[kind], {'rescue': {
                'rescue_image_ref': e2e.RESCUE_IMAGE}})
        for kind in ('package', 'stock'):
            e2e.wait_state(ids[kind], 'RESCUE', hosts[kind])
            e2e.wait_tick(ids[kind], 'rescue', None, 0)
        order = ('package', 'stock') if rep % 2 == 0 else \
            ('stock', 'package')
        for kind in order:
            active, tick, _boot = unrescue(ids[kind], hosts[kind])
            samples[kind].append({'active': active, 'tick': tick})
            log('unrescue (%s): ACTIVE in %.2fs, original guest ticking '
                'after %.2fs' % (kind, active, tick))
    for sid in ids.values():
        call('DELETE', '/servers/%s' % sid, ok=None)
    sec.raw['samples'] = samples
    for key, what in (('active', 'request to ACTIVE'),
                      ('tick', 'request to the original guest\'s first '
                               'console tick (includes its boot)')):
        num = [s[key] for s in samples['package']]
        den = [s[key] for s in samples['stock']]
        fig = _ratio('bed.unrescue_%s' % key,
                     'Unrescue on the bed (%s): package (hard reboot from '
                     'the database, e2e-h1) / nova (unrescue.xml, e2e-h3)'
                     % what, num, den, 1.2, 's')
        fig['spread'] = fig['spread'].replace('rescued ', 'package ') \
            .replace('active ', 'nova ')
        fig['details']['package'] = fig['details'].pop('rescued')
        fig['details']['nova'] = fig['details'].pop('active')
        sec.figures.append(fig)


def _keystone_client():
    """The drain command's API client on a keystone session with the bed's
    admin credentials (STATE/openrc), as the command builds it.
    """
    from keystoneauth1 import adapter as ks_adapter
    from keystoneauth1.identity import v3
    from keystoneauth1 import session as ks_session
    from nova_rescue_lm.drain import compute_api

    env = {}
    for line in open(os.path.join(e2e.STATE, 'openrc')):
        for kv in line.replace('export ', '').split():
            k, _, v = kv.partition('=')
            env[k] = v
    auth = v3.Password(
        auth_url=env['OS_AUTH_URL'], username=env['OS_USERNAME'],
        password=env['OS_PASSWORD'], project_name=env['OS_PROJECT_NAME'],
        user_domain_name=env['OS_USER_DOMAIN_NAME'],
        project_domain_name=env['OS_PROJECT_DOMAIN_NAME'])
    session = ks_session.Session(auth=auth, timeout=60)
    return compute_api.ComputeClient(ks_adapter.Adapter(
        session=session, service_type='compute', interface='public',
        region_name=env.get('OS_REGION_NAME')))


def drain_host(source, target):
    """Drain SOURCE to TARGET with nova-rescue-lm-drain's core, one
    migration at a time; wall seconds.

    The command's core (``nova_rescue_lm.drain.drain``) with keystone
    credentials, as ``nova-rescue-lm-drain SOURCE --target TARGET
    --max-parallel 1`` runs it, but polling every 0.5 s instead of 2 s: a
    migration here takes 3 to 15 s, and 2 s steps would hide how time grows
    with N. One migration at a time: with N <= 3 and two in flight (the
    default) time would step, not grow, with N.
    """
    import io
    from nova_rescue_lm import drain
    from nova_rescue_lm.drain import reporting
    from nova_rescue_lm.drain import results

    out = io.StringIO()
    t0 = time.time()
    code, entries = drain.drain(_keystone_client(), source, target=target,
                                max_parallel=1, timeout=600, out=out,
                                poll_interval=0.5)
    seconds = time.time() - t0
    moved = [e for e in entries if e.result == results.MOVED]
    if code != reporting.EXIT_OK or len(moved) != len(entries):
        raise Failed('drain %s --target %s exited %s: %s' % (
            source, target, code, out.getvalue()[-800:]))
    log('drain %s -> %s (%d servers): %.1fs' % (
        source, target, len(entries), seconds))
    return seconds


def _rescue_all(sids, host):
    for sid in sids:
        action(sid, {'rescue': {'rescue_image_ref': e2e.RESCUE_IMAGE}})
    for sid in sids:
        e2e.wait_state(sid, 'RESCUE', host)
        e2e.wait_tick(sid, 'rescue', None, 0)


def _unrescue_all(sids, host):
    for sid in sids:
        action(sid, {'unrescue': None})
    for sid in sids:
        e2e.wait_state(sid, 'ACTIVE', host)
        e2e.wait_tick(sid, 'main', None, 0)


def section_drain(sec):
    """Drain N servers, all ACTIVE or all RESCUED (the same servers)."""
    sizes, rounds = sec.args.drain_sizes, sec.args.drain_rounds
    e2e.ensure_flavor()
    sids = []
    samples = {'active': {}, 'rescued': {}}
    for n in sizes:
        while len(sids) < n:
            sids.append(e2e._boot('bench-drain-%d' % len(sids), H1))
        for sid in sids:
            e2e.wait_tick(sid, 'main')
        for rnd in range(rounds):
            if rnd % 2 == 0:
                samples['active'].setdefault(n, []).append(
                    drain_host(H1, H2))
                _rescue_all(sids, H2)
                samples['rescued'].setdefault(n, []).append(
                    drain_host(H2, H1))
                _unrescue_all(sids, H1)
            else:
                _rescue_all(sids, H1)
                samples['rescued'].setdefault(n, []).append(
                    drain_host(H1, H2))
                _unrescue_all(sids, H2)
                samples['active'].setdefault(n, []).append(
                    drain_host(H2, H1))
    for sid in sids:
        call('DELETE', '/servers/%s' % sid, ok=None)
    sec.raw['samples'] = samples
    sys.path.insert(0, os.path.join(REPO, 'tools', 'bench'))
    import drain_scale
    sec.figures.extend(drain_scale.figures(
        {'samples': samples}, list(sizes), label='bed, %s' % (
            'shared storage' if sec.args.mode == 'shared'
            else 'block migration'), prefix='bed.drain', r2_goal=0.95,
        strict_ratio=False))


SECTIONS = {'migrate': ('live migration, rescued vs active',
                        section_migrate),
            'block': ('block migration with an ephemeral disk and a config '
                      'drive, fresh destination', section_block),
            'unrescue': ('unrescue, package vs nova\'s stock driver',
                         section_unrescue),
            'drain': ('host drain of N servers', section_drain)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mode', choices=['shared', 'block'], required=True)
    ap.add_argument('--results', required=True)
    a = ap.parse_args()
    a.reps = int(os.environ.get('E2E_BENCH_REPS', '6'))
    a.block_reps = int(os.environ.get('E2E_BENCH_BLOCK_REPS', '4'))
    a.block_control = os.environ.get('E2E_BENCH_BLOCK_CONTROL', '1') != '0'
    a.unrescue_reps = int(os.environ.get('E2E_BENCH_UNRESCUE_REPS', '4'))
    a.drain_sizes = [int(x) for x in
                     os.environ.get('E2E_BENCH_DRAIN', '1 2 3').split()]
    a.drain_rounds = int(os.environ.get('E2E_BENCH_DRAIN_ROUNDS', '2'))
    wanted = os.environ.get('E2E_BENCH_SECTIONS',
                            'migrate block unrescue drain').split()
    # unrescue and drain do not depend on the storage mode: run them on the
    # first bed only (E2E_MODES's first word; shared by default).
    first = os.environ.get('E2E_MODES', 'shared block').split()[0]
    ok = True
    for key in ('migrate', 'block', 'unrescue', 'drain'):
        if key not in wanted:
            continue
        if key == 'block' and a.mode != 'block':
            continue  # separate instance storage only
        if key != 'migrate' and a.mode != first:
            continue
        if key == 'drain' and not a.drain_sizes:
            continue
        title, fn = SECTIONS[key]
        ok &= Section('%s (%s)' % (title, a.mode), a).run(fn)
    try:
        e2e.delete_all()
    except Exception as e:  # noqa
        log('cleanup: %s' % e)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
