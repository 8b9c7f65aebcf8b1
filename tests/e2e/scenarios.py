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

"""End-to-end scenarios for nova-rescue-lm on the real libvirt/QEMU bed
brought up by tools/e2e/bed.sh. Drives nova's REST API (microversions
2.104 to 2.106) and reads the marker guest's serial console through nova's own
os-getConsoleOutput; checks where the domain really runs with virsh on each
host's libvirtd socket.

    python tests/e2e/scenarios.py --mode shared|block --results FILE

Each scenario prints its steps with timings and one result line; results
are appended to FILE (JSON lines) for tools/e2e/run.sh's final summary.
"""
import argparse
import os
import re
import subprocess
import sys
import time

from oslo_serialization import jsonutils
import requests

from nova_rescue_lm import microversions

API = 'http://127.0.0.1:38774/v2.1'
PLACEMENT = 'http://127.0.0.1:38778'
STATE = os.environ.get('E2E_STATE', '/var/tmp/nova-rescue-lm-e2e/run')
BED = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                   'tools', 'e2e', 'bed.sh')


def _token():
    """A real keystone token (admin in project admin), or the stand-in
    token when the bed runs the stand-in auth filter (E2E_AUTH=standin).
    """
    try:
        auth = open(os.path.join(STATE, 'auth')).read().strip()
    except OSError:
        auth = 'standin'
    if auth != 'keystone':
        return 'e2e-admin'    # tests/e2e/standins/auth.py
    ident = {'methods': ['password'], 'password': {
        'user': {'name': 'admin', 'domain': {'id': 'default'},
                 'password': 'e2e-secret'}}}
    scope = {'project': {'name': 'admin', 'domain': {'id': 'default'}}}
    r = requests.post('http://127.0.0.1:35357/v3/auth/tokens', json={
        'auth': {'identity': ident, 'scope': scope}}, timeout=30)
    r.raise_for_status()
    return r.headers['X-Subject-Token']


TOKEN = _token()
MAIN_IMAGE = '6e2e0000-0000-4000-8000-00000000000a'
RESCUE_IMAGE = '6e2e0000-0000-4000-8000-00000000000b'
FLAVOR = 'e2e-tiny'

TICK_RE = re.compile(r'E2E TICK role=(\w+) bootid=(\w+) n=(\d+)')
BOOT_RE = re.compile(r'E2E BOOT role=(\w+) bootid=(\w+)')
DISK_RE = re.compile(r'E2E DISK (\w+) sectors=\d+ mark=\[([^\]]*)\]')
CDROM_RE = re.compile(r'E2E CDROM (\w+) label=(\S*)')


class Failed(Exception):
    pass


def log(msg):
    print('%s   %s' % (time.strftime('%H:%M:%S'), msg), flush=True)


def call(method, path, body=None, version='2.105', ok=(200, 201, 202, 204)):
    r = requests.request(
        method, API + path, json=body, timeout=60,
        headers={'X-Auth-Token': TOKEN,
                 'OpenStack-API-Version': 'compute %s' % version})
    if ok is not None and r.status_code not in ok:
        raise Failed('%s %s at %s -> %s %s' % (method, path, version,
                                               r.status_code, r.text[:400]))
    return r


def server(sid):
    return call('GET', '/servers/%s' % sid).json()['server']


def action(sid, body, version='2.105', ok=(200, 202)):
    return call('POST', '/servers/%s/action' % sid, body, version, ok)


def wait(what, fn, timeout=180, interval=0.5):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise Failed('timed out after %ss waiting for %s' % (timeout, what))


def wait_state(sid, status, host=None, timeout=180):
    def check():
        s = server(sid)
        if s['status'] == 'ERROR':
            raise Failed('server went to ERROR: %s' % s.get('fault'))
        if (s['status'] == status and s['OS-EXT-STS:task_state'] is None
                and (host is None or s['OS-EXT-SRV-ATTR:host'] == host)):
            return s
    return wait('%s on %s' % (status, host or 'any host'), check, timeout)


def console(sid, length=200):
    return action(sid, {'os-getConsoleOutput': {'length': length}}
                  ).json()['output']


def last_tick(out):
    ticks = TICK_RE.findall(out)
    return (ticks[-1][0], ticks[-1][1], int(ticks[-1][2])) if ticks else None


def wait_tick(sid, role, bootid=None, after=0, timeout=120):
    """Wait for a console tick of ROLE (and BOOTID) with n > AFTER."""
    def check():
        t = last_tick(console(sid))
        if t and t[0] == role and (bootid is None or t[1] == bootid) \
                and t[2] > after:
            return t
    return wait('console tick role=%s bootid=%s n>%d' % (role, bootid, after),
                check, timeout, 1)


def last_boot(out):
    """(role, bootid, {disk: mark}) of the last boot on the console."""
    idx = out.rfind('E2E BOOT')
    if idx < 0:
        return None
    tail = out[idx:]
    m = BOOT_RE.search(tail)
    disks = dict(DISK_RE.findall(tail))
    disks.update(('cdrom:' + k, v) for k, v in CDROM_RE.findall(tail))
    return m.group(1), m.group(2), disks


def virsh_list(host):
    sock = os.path.join(STATE, 'hosts', host.replace('e2e-', ''), 'run',
                        'libvirt-sock')
    if not os.path.exists(sock):
        raise Failed('no libvirt socket %s' % sock)
    out = subprocess.run(
        ['virsh', '-c', 'qemu:///system?socket=' + sock, 'list', '--all',
         '--name'], capture_output=True, text=True, timeout=30).stdout
    return [line for line in out.split() if line]


def _virsh(host, *args):
    sock = os.path.join(STATE, 'hosts', host.replace('e2e-', ''), 'run',
                        'libvirt-sock')
    return subprocess.run(
        ['virsh', '-c', 'qemu:///system?socket=' + sock] + list(args),
        capture_output=True, text=True, timeout=30).stdout


def migration_job(host, dom):
    """'N MiB of memory sent' while libvirt's migration job of DOM on HOST
    is copying, else None.
    """
    info = _virsh(host, 'domjobinfo', dom)
    if not re.search(r'Job type:\s+Unbounded', info):
        return None
    m = re.search(r'Memory processed:\s+([\d.]+) (\w+)', info)
    return '%s %s of memory sent' % m.groups() if m else 'job running'


def migration_jobs(host):
    """Running domains of HOST with a migration job copying."""
    return [dom for dom in _virsh(host, 'list', '--name').split()
            if migration_job(host, dom)]


def compute_ready(host):
    """HOST's nova-compute is up and enabled (nova disables a compute while
    it has lost its libvirt connection).
    """
    svc = call('GET', '/os-services?host=%s&binary=nova-compute' % host
               ).json()['services'][0]
    return svc['state'] == 'up' and svc['status'] == 'enabled'


def domstate(host, dom):
    return _virsh(host, 'domstate', dom, '--reason').strip()


def cpu_time(host, dom):
    stats = _virsh(host, 'domstats', '--cpu-total', dom)
    m = re.search(r'cpu.time=(\d+)', stats)
    return int(m.group(1)) / 1e9 if m else -1.0


def check(cond, msg):
    if not cond:
        raise Failed(msg)
    log('ok: ' + msg)


def ensure_flavor():
    r = call('GET', '/flavors/%s' % FLAVOR, ok=None)
    if r.status_code == 200:
        return
    call('POST', '/flavors', {'flavor': {
        'name': FLAVOR, 'id': FLAVOR, 'ram': 128, 'vcpus': 1, 'disk': 1,
        'OS-FLV-EXT-DATA:ephemeral': 1}})


def migrations(sid):
    return call('GET', '/os-migrations?instance_uuid=%s' % sid
                ).json()['migrations']


def migration_errors(sid):
    """'event: details' of the failed events of the newest live migration
    (what `openstack server event show` displays).
    """
    actions = [a for a in call('GET', '/servers/%s/os-instance-actions' % sid
                               ).json()['instanceActions']
               if a['action'] == 'live-migration']
    if not actions:
        return []
    newest = max(actions, key=lambda a: a['start_time'])
    d = call('GET', '/servers/%s/os-instance-actions/%s' % (
        sid, newest['request_id'])).json()['instanceAction']
    return ['%s: %s' % (e['event'], e.get('details'))
            for e in d.get('events', []) if e.get('result') == 'Error']


def action_events(sid):
    """Failed instance-action events with their tracebacks (admin)."""
    out = []
    for a in call('GET', '/servers/%s/os-instance-actions' % sid
                  ).json()['instanceActions']:
        d = call('GET', '/servers/%s/os-instance-actions/%s'
                 % (sid, a['request_id'])).json()['instanceAction']
        for e in d.get('events', []):
            if e.get('result') == 'Error':
                out.append('%s/%s: %s' % (a['action'], e['event'],
                                          (e.get('traceback') or '')
                                          .strip().splitlines()[-1:]))
    return out


def run_step(fn, arg):
    """Run FN(ARG); return (passed, error text, seconds). A failure is
    reported, never raised, so the next scenario still runs.
    """
    t0 = time.time()
    ok, err = True, ''
    try:
        fn(arg)
    except Failed as e:
        ok, err = False, str(e)
    except Exception as e:  # noqa: report, do not hide
        ok, err = False, '%s: %s' % (type(e).__name__, e)
    return ok, err, time.time() - t0


class Scenario(object):
    def __init__(self, name, results):
        self.name = name
        self.results = results
        self.timings = []
        self.note = ''

    def timed(self, label, fn, *a, **kw):
        t0 = time.time()
        r = fn(*a, **kw)
        dt = time.time() - t0
        self.timings.append((label, dt))
        log('%-38s %6.1fs' % (label, dt))
        return r

    def run(self, fn):
        print('\n=== %s' % self.name, flush=True)
        ok, err, total = run_step(fn, self)
        res = 'PASS' if ok else 'FAIL'
        tim = ', '.join('%s %.1fs' % t for t in self.timings)
        print('%s %s (%.1fs total; %s)%s%s' % (
            res, self.name, total, tim, ('\n     reason: ' + err) if err
            else '', ('\n     note: ' + self.note) if self.note else ''),
            flush=True)
        with open(self.results, 'a') as f:
            f.write(jsonutils.dumps({'name': self.name, 'passed': ok,
                                     'error': err, 'note': self.note,
                                     'total': total,
                                     'timings': self.timings}) + '\n')
        return ok


def boot_and_rescue(sc, name):
    """Boot on e2e-h1, rescue with the rescue image. Returns a dict."""
    ensure_flavor()
    sid = sc.timed('boot -> ACTIVE', lambda: _boot(name))
    st = {'sid': sid}
    t = sc.timed('guest ticking (main)', wait_tick, sid, 'main')
    st['main_boot'] = t[1]
    action(sid, {'rescue': {'rescue_image_ref': RESCUE_IMAGE}})
    sc.timed('rescue -> RESCUE', wait_state, sid, 'RESCUE', 'e2e-h1')
    t = sc.timed('rescue guest ticking', wait_tick, sid, 'rescue')
    st['rescue_boot'] = t[1]
    check(t[1] != st['main_boot'], 'rescue guest is a new boot (%s, main '
          'was %s)' % (t[1], st['main_boot']))
    lb = last_boot(console(sid, 400))
    check(lb and lb[0] == 'rescue' and 'main' in lb[2].get('vdb', ''),
          'rescue guest sees the original root disk as vdb with the main '
          'guest\'s marker: %r' % (lb[2].get('vdb') if lb else None))
    return st


def _boot(name, host='e2e-h1', flavor=FLAVOR):
    s = call('POST', '/servers', {'server': {
        'name': name, 'imageRef': MAIN_IMAGE, 'flavorRef': flavor,
        'networks': 'none', 'availability_zone': 'nova:' + host,
        'config_drive': True}}
    ).json()['server']
    wait_state(s['id'], 'ACTIVE', host)
    return s['id']


def scenario_409(sc, st):
    """Scenario 4 (first half): 409 at 2.104 and nothing moves."""
    sid = st['sid']
    before = len(migrations(sid))
    r = action(sid, {'os-migrateLive': {'host': 'e2e-h2',
                                        'block_migration': 'auto'}},
               version='2.104', ok=None)
    check(r.status_code == 409, 'os-migrateLive at 2.104 on a rescued '
          'server answers %s (want 409): %s' % (r.status_code, r.text[:200]))
    time.sleep(3)
    s = server(sid)
    check(s['status'] == 'RESCUE' and s['OS-EXT-SRV-ATTR:host'] == 'e2e-h1'
          and s['OS-EXT-STS:task_state'] is None,
          'nothing moved: still RESCUE on e2e-h1, no task')
    check(len(migrations(sid)) == before, 'no migration record created')
    check(virsh_list('e2e-h2') == [] and virsh_list('e2e-h1') == [
        s['OS-EXT-SRV-ATTR:instance_name']], 'the domain runs on e2e-h1 '
          'only (virsh on each host)')


STOCK_HOST = 'e2e-h3'   # runs nova's stock libvirt.LibvirtDriver


def _refused_400(sid, host, names, what):
    r = action(sid, {'os-migrateLive': {'host': host,
                                        'block_migration': 'auto'}},
               version='2.105', ok=None)
    check(r.status_code == 400 and names in r.text,
          '%s: os-migrateLive at 2.105 answers %s (want 400 naming %s): %s'
          % (what, r.status_code, names, r.text[:300]))
    return r.json()['badRequest']['message']


def scenario_stock_400(sc, st):
    """Scenario 4 (second half): a compute running nova's stock driver gets
    400 naming it, as explicit destination and as source; nothing moves.
    """
    sid = st['sid']
    before = len(migrations(sid))
    msg = sc.timed('400 for a stock destination', _refused_400, sid,
                   STOCK_HOST, STOCK_HOST, 'explicit stock destination')
    log('answer: %s' % msg)
    s = server(sid)
    check(s['status'] == 'RESCUE' and s['OS-EXT-SRV-ATTR:host'] == 'e2e-h1'
          and len(migrations(sid)) == before and
          virsh_list(STOCK_HOST) == [], 'nothing moved (still RESCUE on '
          'e2e-h1, no migration record, nothing on %s)' % STOCK_HOST)
    stock = sc.timed('boot on the stock compute', _boot, 'e2e-stock',
                     STOCK_HOST)
    try:
        wait_tick(stock, 'main')
        action(stock, {'rescue': {'rescue_image_ref': RESCUE_IMAGE}})
        sc.timed('stock rescue -> RESCUE', wait_state, stock, 'RESCUE',
                 STOCK_HOST)
        msg = sc.timed('400 for a stock source', _refused_400, stock,
                       'e2e-h1', STOCK_HOST, 'server rescued on the stock '
                       'compute')
        log('answer: %s' % msg)
        s = server(stock)
        check(s['status'] == 'RESCUE' and s['OS-EXT-SRV-ATTR:host'] ==
              STOCK_HOST and not migrations(stock), 'nothing moved (still '
              'RESCUE on %s, no migration record)' % STOCK_HOST)
    finally:
        call('DELETE', '/servers/%s' % stock, ok=None)


def live_migrate(sc, st, block, src='e2e-h1', dst='e2e-h2', host_arg=None,
                 after_move=None):
    """Live-migrate the rescued server from SRC to DST at 2.105 (HOST_ARG
    names the destination in the request; None lets the scheduler choose),
    then check the rescue guest kept running there, unrescue there, check
    the original root boots with what the rescue guest wrote.
    """
    sid = st['sid']
    n_before = last_tick(console(sid))[2]
    t0 = time.time()
    r = action(sid, {'os-migrateLive': {'host': host_arg,
                                        'block_migration': block}},
               ok=None)
    check(r.status_code == 202, 'os-migrateLive at 2.105 (host=%s, '
          'block_migration=%s) answers %s %s' % (
              host_arg, block, r.status_code, r.text[:200]))

    def done():
        s = server(sid)
        if s['OS-EXT-STS:task_state'] is None:
            return s
    s = wait('live migration to finish', done, 180)
    dt = time.time() - t0
    sc.timings.append(('live-migrate', dt))
    log('%-38s %6.1fs' % ('live-migrate (API 202 -> task done)', dt))

    def mig_status():
        mig = [m for m in migrations(sid)
               if m['migration_type'] == 'live-migration']
        return max(mig, key=lambda m: m['id'])['status'] if mig else None
    mstatus = mig_status()
    if mstatus not in ('completed', 'error', 'failed', 'cancelled'):
        time.sleep(3)
        mstatus = mig_status()
    if s['OS-EXT-SRV-ATTR:host'] != dst:
        events = action_events(sid)
        still = last_tick(console(sid))
        sc.note = ('migration status %s; server %s on %s; guest still '
                   'ticking %s; events: %s' % (
                       mstatus, s['status'], s['OS-EXT-SRV-ATTR:host'],
                       still, events))
        raise Failed('server did not move to %s (migration %s)'
                     % (dst, mstatus))
    check(s['status'] == 'RESCUE', 'server is RESCUE on %s after the '
          'migration (status %s)' % (dst, s['status']))
    check(mstatus == 'completed', 'migration record is %s (want completed;'
          ' all: %s)' % (mstatus, [(m['migration_type'], m['status'])
                                   for m in migrations(sid)]))
    dom = s['OS-EXT-SRV-ATTR:instance_name']
    check(dom in virsh_list(dst) and dom not in virsh_list(src),
          'domain %s runs on %s (its libvirtd) and is gone from %s'
          % (dom, dst, src))
    t = wait_tick(sid, 'rescue', st['rescue_boot'], n_before, 60)
    t2 = wait_tick(sid, 'rescue', st['rescue_boot'], t[2] + 2, 60)
    check(True, 'rescue guest kept ticking on %s with the same boot '
          'id %s (n %d before, %d, %d after)' % (
              dst, st['rescue_boot'], n_before, t[2], t2[2]))
    if after_move:
        after_move(st)
    unrescue_and_check(sc, st, dst)


def unrescue_and_check(sc, st, host):
    """Unrescue on HOST; the original root boots and every disk carries its
    data: root what the rescue guest wrote, ephemeral the boot before the
    rescue, config drive the server's uuid.
    """
    sid = st['sid']
    action(sid, {'unrescue': None})
    sc.timed('unrescue on %s -> ACTIVE' % host, wait_state, sid, 'ACTIVE',
             host)
    sc.timed('original root boots (ticking)', wait_tick, sid, 'main',
             None, 0)
    lb = last_boot(console(sid, 400))
    check(lb and lb[0] == 'main' and lb[1] not in (st['main_boot'],
                                                   st['rescue_boot']),
          'original image booted afresh on %s (boot id %s)'
          % (host, lb and lb[1]))
    vda = lb[2].get('vda', '')
    check('role=rescue bootid=%s' % st['rescue_boot'] in vda,
          'root disk carries what the rescue guest wrote: %r' % vda)
    vdb = lb[2].get('vdb', '')
    check('role=main bootid=%s' % st['main_boot'] in vdb,
          'ephemeral disk carries the data of the boot before the rescue: '
          '%r' % vdb)
    cds = [v for k, v in lb[2].items() if k.startswith('cdrom:')]
    check(sid in cds, 'config drive readable, carries this server\'s uuid '
          '(%s)' % cds)
    st['main_boot'] = lb[1]


def rescue_again(sc, st, host):
    """Rescue the (ACTIVE) server again where it is now."""
    sid = st['sid']
    action(sid, {'rescue': {'rescue_image_ref': RESCUE_IMAGE}})
    sc.timed('rescue on %s -> RESCUE' % host, wait_state, sid, 'RESCUE',
             host)
    t = sc.timed('rescue guest ticking', wait_tick, sid, 'rescue', None, 0)
    lb = last_boot(console(sid, 400))
    check(lb and lb[0] == 'rescue' and lb[1] == t[1],
          'a new rescue guest runs (boot id %s)' % t[1])
    st['rescue_boot'] = t[1]


def image_cache_identical(sc, st):
    """Scenario 6: the destination's image-cache file for the rescue image
    is byte-identical to the source's and to the rescue image (as nova
    caches it: converted to raw, [DEFAULT] force_raw_images = True).
    """
    import hashlib
    name = hashlib.sha1(RESCUE_IMAGE.encode()).hexdigest()
    paths = {h: os.path.join(STATE, 'hosts', h, 'instances', '_base', name)
             for h in ('h1', 'h2')}
    for h, p in paths.items():
        check(os.path.isfile(p), 'image cache of %s has %s' % (h, name))
    ref = os.path.join(STATE, 'images', 'rescue.raw')
    subprocess.run(['qemu-img', 'convert', '-O', 'raw', os.path.join(
        os.environ.get('E2E_ROOT', '/var/tmp/nova-rescue-lm-e2e'), 'cache',
        'guest', 'rescue.qcow2'), ref], check=True)

    def digest(p):
        return hashlib.sha256(open(p, 'rb').read()).hexdigest()
    d = {k: digest(v) for k, v in dict(paths, image=ref).items()}
    check(d['h2'] == d['image'] == d['h1'], 'destination cache file is '
          'byte-identical to the rescue image (sha256 %s; source %s, '
          'image %s)' % (d['h2'][:16], d['h1'][:16], d['image'][:16]))


def throttle(host, on, rate='2mbit'):
    """Slow the link to HOST to RATE (tc tbf on its bridge port) so a live
    migration takes long enough to be interrupted midway.
    """
    # egress of the bridge port towards HOST: what any source sends it
    dev = 'e2e-rlm-b' + host[-1]
    cmd = ['tc', 'qdisc']
    if on:
        cmd += ['replace', 'dev', dev, 'root', 'tbf', 'rate', rate,
                'burst', '32kbit', 'latency', '500ms']
    else:
        cmd += ['del', 'dev', dev, 'root']
    r = subprocess.run(cmd, capture_output=True, text=True)
    if on and r.returncode:
        raise Failed('cannot throttle %s: %s' % (host, r.stderr.strip()))


def settled_migration(sid, mig_id, ends=('cancelled', 'error', 'failed')):
    """Migration ``mig_id`` of server ``sid`` once it has ended (cancelled,
    error or failed), read again a few seconds later: nova may still be in
    its rollback and error handling when the record changes.
    """
    def ended():
        return [x for x in migrations(sid) if x['id'] == mig_id and
                x['status'] in ends]
    wait('migration record final', ended, 60)
    time.sleep(5)
    return [x for x in migrations(sid) if x['id'] == mig_id][0]


def abort_control(src, dst):
    """Abort the live migration of a plain ACTIVE server the same way and
    say how it ends (tells nova's own behaviour from the package's).
    """
    try:
        sid = _boot('e2e-abort-control', src)
        wait_tick(sid, 'main')
        throttle(dst, True)
        try:
            action(sid, {'os-migrateLive': {'host': dst,
                                            'block_migration': 'auto'}})
            mig = wait('control migration running', lambda: next(
                (m for m in migrations(sid) if m['status'] == 'running'),
                None), 60, 0.3)
            time.sleep(2)
            call('DELETE', '/servers/%s/migrations/%s' % (sid, mig['id']))
            wait('control migration to end', lambda: server(sid)[
                'OS-EXT-STS:task_state'] is None, 120)
        finally:
            throttle(dst, False)
        m = settled_migration(sid, mig['id'])
        s = server(sid)
        call('DELETE', '/servers/%s' % sid, ok=None)
        return '%s/vm_state %s on %s, migration %s' % (
            s['status'], s['OS-EXT-STS:vm_state'],
            s['OS-EXT-SRV-ATTR:host'], m['status'])
    except Exception as e:  # noqa
        return 'control failed: %s' % e


def interrupted_migration(sc, st, src, dst):
    """Scenario 5: a live migration of a rescued server aborted midway
    (DELETE /servers/{id}/migrations/{id}) leaves it RESCUE and running on
    the source; unrescue there works.
    """
    sid = st['sid']
    rescue_again(sc, st, src)
    dom = server(sid)['OS-EXT-SRV-ATTR:instance_name']
    throttle(dst, True)
    try:
        n_before = last_tick(console(sid))[2]
        t_migrate = time.time()
        action(sid, {'os-migrateLive': {'host': dst,
                                        'block_migration': 'auto'}})

        def running():
            for m in migrations(sid):
                if (m['migration_type'] == 'live-migration'
                        and m['status'] == 'running'):
                    return m
        mig = sc.timed('migration running (throttled link)', wait,
                       'migration running', running, 60, 0.3)
        time.sleep(2)
        r = call('DELETE', '/servers/%s/migrations/%s' % (sid, mig['id']),
                 ok=None)
        check(r.status_code == 202, 'abort of the running migration '
              'answers %s %s' % (r.status_code, r.text[:200]))
        s = sc.timed('aborted -> task done', wait, 'migration to end',
                     lambda: (lambda s: s if s['OS-EXT-STS:task_state'] is
                              None else None)(server(sid)), 120)
    finally:
        throttle(dst, False)
    m = settled_migration(sid, mig['id'])
    s = server(sid)
    check(m['status'] in ('cancelled', 'error', 'failed'),
          'migration record is %s' % m['status'])
    if not (s['status'] == 'RESCUE' and s['OS-EXT-SRV-ATTR:host'] == src):
        sc.note = ('after the abort the rescued server is %s/vm_state %s on '
                   '%s; domain there: %s. Control: the same abort of a '
                   'non-rescued ACTIVE server on this bed leaves it: %s'
                   % (s['status'], s['OS-EXT-STS:vm_state'],
                      s['OS-EXT-SRV-ATTR:host'], domstate(src, dom),
                      abort_control(src, dst)))
    check(s['status'] == 'RESCUE' and s['OS-EXT-SRV-ATTR:host'] == src,
          'server is still RESCUE on %s (%s on %s)' % (
              src, s['status'], s['OS-EXT-SRV-ATTR:host']))
    try:
        wait('domain gone from %s' % dst,
             lambda: dom not in virsh_list(dst), 30)
    except Failed:
        pass
    check(dom in virsh_list(src) and dom not in virsh_list(dst),
          'domain runs on %s only (%s: %s; %s: %s)' % (
              src, src, virsh_list(src), dst, virsh_list(dst)))
    # The console log is no witness here: on shared instance storage the
    # destination's virtlogd recreated console.log when the migration
    # started, so the source's output goes to the unlinked file. The guest's
    # disk markers are: it writes its tick into the root disk every second.
    c0 = cpu_time(src, dom)
    time.sleep(3)
    c1 = cpu_time(src, dom)
    check(domstate(src, dom).startswith('running') and c1 > c0,
          'domain is running on %s (%s; CPU time %.2fs -> %.2fs)' % (
              src, domstate(src, dom), c0, c1))
    t_unrescue = time.time()
    action(sid, {'unrescue': None})
    sc.timed('unrescue on %s -> ACTIVE' % src, wait_state, sid, 'ACTIVE',
             src)
    t = sc.timed('original root boots (ticking)', wait_tick, sid, 'main')
    st['main_boot'] = t[1]  # what the ephemeral disk now carries
    lb = last_boot(console(sid, 400))
    vda = lb[2].get('vda', '') if lb else ''
    m = re.search(r'role=rescue bootid=%s tick=(\d+)' % st['rescue_boot'],
                  vda)
    gone = int(t_unrescue - t_migrate)
    check(m and int(m.group(1)) >= n_before + gone - 3,
          'root disk carries what the same rescue guest wrote until the '
          'unrescue: %r (tick %d before the migration, %ds later)' % (
              vda, n_before, gone))


def service_heartbeat(host):
    return call('GET', '/os-services?host=%s&binary=nova-compute' % host
                ).json()['services'][0]['updated_at']


def switch_driver(sc, short, driver):
    """Stop HOST's nova-compute, set its compute_driver, start it; wait for
    its first heartbeat (nova-compute writes the node's resources, stats
    included, before it reports).
    """
    host = 'e2e-' + short
    bed('stop-compute', short)
    killed = service_heartbeat(host)
    bed('set-driver', short, driver)
    bed('start-compute', short)
    sc.timed('%s back with %s' % (host, driver), wait,
             'a heartbeat of the restarted nova-compute',
             lambda: service_heartbeat(host) != killed, 180, 1)


def host_leftovers(short, sid, cache=True):
    """Server SID's instance directory and domain on host SHORT (separate
    instance storage), and (CACHE) that host's cache file of the rescue
    image.
    """
    import hashlib
    root = os.path.join(STATE, 'hosts', short, 'instances')
    paths = [os.path.join(root, sid)]
    if cache:
        paths.append(os.path.join(
            root, '_base', hashlib.sha1(RESCUE_IMAGE.encode()).hexdigest()))
    found = [p for p in paths if os.path.exists(p)]
    dom = server(sid)['OS-EXT-SRV-ATTR:instance_name']
    return found + [d for d in virsh_list('e2e-' + short) if d == dom]


def stale_capability(sc, st, mode, src='e2e-h1', dst='e2e-h2'):
    """Scenario 8: DST switched back to nova's stock driver keeps the trait
    in placement; the API refuses it (400, stale), the scheduler never picks
    it, nothing moves or lands there; the rescue guest keeps running on SRC
    and unrescue there finds every disk's data.
    """
    sid = st['sid']
    row = {'fault': 'destination back on nova\'s driver, trait left',
           'stage': 'API, scheduler', 'outcome': '-', 'data': '-',
           'leftovers': '-'}
    FAULT_ROWS.append(row)
    separate = mode == 'block'
    check(not separate or not host_leftovers(dst[-2:], sid),
          '%s holds nothing of the server before' % dst)
    switch_driver(sc, dst[-2:], 'libvirt.LibvirtDriver')
    try:
        check('CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED' in provider_traits(dst),
              'the trait stays on %s with nova\'s driver (as nova leaves '
              'it)' % dst)
        before = last_tick(console(sid))
        known = {m['id'] for m in migrations(sid)}
        msg = sc.timed('400 for the stale destination', _refused_400, sid,
                       dst, dst, 'destination with a stale trait')
        check('is stale' in msg, 'the answer says the trait is stale: %s'
              % msg)
        log('answer: %s' % msg)
        r = action(sid, {'os-migrateLive': {'host': None,
                                            'block_migration': 'auto'}},
                   ok=None)
        check(r.status_code == 202, 'no host: 202 (%s)' % r.status_code)
        mig = sc.timed('scheduler finds no host', wait, 'migration error',
                       lambda: [m for m in migrations(sid)
                                if m['id'] not in known and
                                m['status'] == 'error'], 120, 1)
        check(mig, 'migration record in error: %s' % mig)
        sc.timed('server settles RESCUE on %s' % src, _settled, sid, src)
        row['outcome'] = '400 (stale); no host: RESCUE on %s' % src
        t = wait_tick(sid, 'rescue', st['rescue_boot'], before[2], 60)
        check(True, 'the same rescue guest keeps ticking on %s (boot id '
              '%s, n %d -> %d)' % (src, t[1], before[2], t[2]))
        left = host_leftovers(dst[-2:], sid) if separate else []
        row['leftovers'] = ', '.join(left) or 'none'
        check(not left, 'nothing of the server on %s: %s' % (dst, left))
    finally:
        switch_driver(sc, dst[-2:], 'rescue_lm.libvirt.LibvirtDriver')
    unrescue_and_check(sc, st, src)
    row['data'] = 'root, ephemeral, config drive OK; same rescue guest'


#: One line per injected fault: fault, stage, outcome, data check, leftovers
FAULT_ROWS = []


class Fault(object):
    """A fault injected while a rescued server live-migrates SRC -> DST."""

    def __init__(self, name, inject, restore, restore_after=None,
                 stalls_guest_io=False):
        self.name = name
        #: the guest's disk writes may wait until the restore (its link is
        #: slowed so much that a block mirror holds them back)
        self.stalls_guest_io = stalls_guest_io
        self._inject = inject
        self._restore = restore
        #: seconds after the injection to restore (None: once settled)
        self.restore_after = restore_after
        self.restored = False

    def inject(self, src, dst):
        self._inject(src[-2:], dst[-2:])

    def restore(self, src, dst):
        if not self.restored:
            self.restored = True
            self._restore(src[-2:], dst[-2:])


def _job_ended(s, d):
    wait('libvirt\'s migration job on e2e-%s to end' % s,
         lambda: not migration_jobs('e2e-' + s), 300, 1)


def _then(*steps):
    def run(*args):
        for step in steps:
            step(*args)
    return run


FAULTS = {
    'destination libvirtd killed': lambda: Fault(
        'destination libvirtd killed, started again',
        lambda s, d: bed('kill-libvirtd', d),
        lambda s, d: bed('start-libvirtd', d), restore_after=5),
    # (a link slow enough that libvirt is still copying when nova-compute
    # is back: a guest's untouched memory and sparse disks go fast)
    'source nova-compute killed': lambda: Fault(
        'source nova-compute SIGKILLed, started again mid-migration',
        _then(lambda s, d: throttle(d, True, rate='64kbit'),
              lambda s, d: bed('stop-compute', s)),
        _then(lambda s, d: bed('start-compute', s), _job_ended),
        restore_after=10, stalls_guest_io=True),
    'source nova-compute killed, libvirt completes': lambda: Fault(
        'source nova-compute SIGKILLed; libvirt completes, then it starts',
        _then(lambda s, d: bed('stop-compute', s),
              lambda s, d: throttle(d, False)),
        _then(_job_ended, lambda s, d: bed('start-compute', s)),
        restore_after=0),
    'migration link down': lambda: Fault(
        'migration network cut (link down), restored',
        lambda s, d: bed('link', d, 'down'),
        lambda s, d: bed('link', d, 'up')),
    'destination filesystem full': lambda: Fault(
        'destination instance filesystem full (12 MiB tmpfs)',
        lambda s, d: None, lambda s, d: bed('drop-small-fs', d)),
}


def cache_file_ok(short):
    """None, or what is wrong with SHORT's cache file of the rescue image
    (it must hold the rescue image's bytes or not exist).
    """
    import hashlib
    name = hashlib.sha1(RESCUE_IMAGE.encode()).hexdigest()
    path = os.path.join(STATE, 'hosts', short, 'instances', '_base', name)
    if not os.path.exists(path):
        return None
    ref = os.path.join(STATE, 'images', 'rescue.raw')
    if not os.path.exists(ref):
        subprocess.run(['qemu-img', 'convert', '-O', 'raw', os.path.join(
            os.environ.get('E2E_ROOT', '/var/tmp/nova-rescue-lm-e2e'),
            'cache', 'guest', 'rescue.qcow2'), ref], check=True)

    def digest(p):
        return hashlib.sha256(open(p, 'rb').read()).hexdigest()
    if digest(path) != digest(ref):
        return 'cache file %s is not the rescue image' % path
    return None


def fault_migration(sc, st, src, dst, fault, mode):
    """Live-migrate the rescued server SRC -> DST, inject FAULT midway.

    However it ends: the server is RESCUE on exactly one host, the same
    rescue guest running there; nothing of it on the other host (with
    separate storage: no instance directory, domain, or rescue-image cache
    file that is not the rescue image); unrescue there finds every disk's
    data. Returns the host it ended on.
    """
    sid = st['sid']
    dom = server(sid)['OS-EXT-SRV-ATTR:instance_name']
    row = {'fault': fault.name, 'stage': '-', 'outcome': '-',
           'data': '-', 'leftovers': '-'}
    FAULT_ROWS.append(row)
    tick = last_tick(console(sid))
    n_before = tick[2] if tick else 0
    t_migrate = time.time()
    known = {m['id'] for m in migrations(sid)}
    throttle(dst, True)
    try:
        action(sid, {'os-migrateLive': {'host': dst,
                                        'block_migration': 'auto'}})

        def started():
            # running, or already ended (refused before it ran)
            for m in migrations(sid):
                if m['id'] not in known and m['status'] in (
                        'running', 'completed', 'failed', 'error',
                        'cancelled'):
                    return m
        mig = sc.timed('migration running', wait, 'migration running',
                       started, 180, 0.3)
        if mig['status'] == 'running':
            # mid-migration: libvirt's job on the source is copying
            job = sc.timed('libvirt job copying', wait, 'libvirt migration '
                           'job', lambda: migration_job(src, dom), 60, 0.3)
            mig = [m for m in migrations(sid) if m['id'] == mig['id']][0]
            row['stage'] = 'migration %s, %s' % (mig['status'], job)
        else:
            row['stage'] = 'migration %s' % mig['status']
        t_inject = time.time()
        sc.timed('inject: %s' % fault.name, fault.inject, src, dst)
        if fault.restore_after is not None:
            time.sleep(fault.restore_after)
            sc.timed('restore', fault.restore, src, dst)
        # the guest's disk writes wait for a block mirror on a crawling link
        stalled = time.time() - t_inject if fault.stalls_guest_io else 0
        # At full speed again: a migration the fault did not end finishes.
        throttle(dst, False)
        s = sc.timed('settled (no task)', wait, 'migration to end',
                     lambda: (lambda s: s if s['OS-EXT-STS:task_state'] is
                              None else None)(server(sid)), 300, 1)
    finally:
        throttle(dst, False)
        fault.restore(src, dst)
    for h in (src, dst):
        sc.timed('%s compute up and enabled' % h, wait, 'compute %s ready'
                 % h, lambda: compute_ready(h), 180, 1)
    m = settled_migration(sid, mig['id'], ends=(
        'completed', 'cancelled', 'error', 'failed'))
    s = server(sid)
    host = s['OS-EXT-SRV-ATTR:host']
    other = dst if host == src else src
    row['outcome'] = '%s on %s, migration %s' % (s['status'], host,
                                                 m['status'])
    errors = migration_errors(sid)
    if errors:
        row['outcome'] += ' (%s)' % errors[0][:70]
        log('error events of the migration: %s' % errors)
    check(s['status'] == 'RESCUE' and host in (src, dst),
          'server is RESCUE on %s or %s (%s on %s)' % (
              src, dst, s['status'], host))
    try:
        wait('domain gone from %s' % other,
             lambda: dom not in virsh_list(other), 60)
    except Failed:
        pass
    c0 = cpu_time(host, dom) if dom in virsh_list(host) else None
    time.sleep(3)
    c1 = cpu_time(host, dom) if dom in virsh_list(host) else None
    check(c0 is not None and c1 > c0 and dom not in virsh_list(other),
          'the rescue domain runs on %s only (%s: %s; %s: %s; CPU time '
          '%s -> %s)' % (host, host, virsh_list(host), other,
                         virsh_list(other), c0, c1))
    left = []
    if mode == 'block':
        # (a cache file that holds the rescue image may stay, as nova keeps
        # any image it fetched; a poisoned one may not)
        left = host_leftovers(other[-2:], sid, cache=False)
        bad = cache_file_ok(other[-2:])
        if bad:
            left.append(bad)
    row['leftovers'] = ', '.join(left) or 'none'
    check(not left, 'nothing of the server left on %s: %s' % (other, left))
    t_unrescue = time.time()
    unrescue_and_check(sc, st, host)
    lb = last_boot(console(sid, 400))
    vda = lb[2].get('vda', '') if lb else ''
    mt = re.search(r'role=rescue bootid=(\w+) tick=(\d+)', vda)
    gone = int(t_unrescue - t_migrate - stalled)
    check(mt and int(mt.group(2)) >= n_before + gone - 5,
          'the same rescue guest ran until the unrescue: %r (tick %d '
          'before the migration, %ds later, not counting %ds of stalled '
          'disk writes)' % (vda, n_before, gone, stalled))
    row['data'] = 'root, ephemeral, config drive OK; same rescue guest'
    return host


BLOCK_FAULTS = ('destination filesystem full', 'migration link down',
                'destination libvirtd killed', 'source nova-compute killed',
                'source nova-compute killed, libvirt completes')
SHARED_FAULTS = ('migration link down', 'destination libvirtd killed',
                 'source nova-compute killed',
                 'source nova-compute killed, libvirt completes')


def fault_table(results, mode, st, src, dst, names):
    """Run the faults NAMES one after the other on the rescued server ST
    (each from where the last left it, rescued again); one table line
    each, and one result each for the final count.
    """
    ok = True
    here, there = src, dst
    for name in names:
        fault = FAULTS[name]()
        if name == 'destination filesystem full':
            bed('small-fs', there[-2:], '12m')

        def run(sc, fault=fault):
            return fault_migration(sc, st, here, there, fault, mode)
        holder = {}

        def step(sc):
            holder['host'] = run(sc)
            rescue_again(sc, st, holder['host'])
        passed = Scenario('fault (%s): %s during a rescued server\'s live '
                          'migration %s -> %s' % (mode, fault.name, here,
                                                  there),
                          results).run(step)
        ok &= passed
        if not passed:
            break
        if holder['host'] == there:
            here, there = there, here
    print('\n%-46s | %-18s | %-40s | %-52s | %s' % (
        'fault', 'stage', 'outcome', 'data check', 'leftovers'))
    for row in FAULT_ROWS:
        print('%-46s | %-18s | %-40s | %-52s | %s' % (
            row['fault'], row['stage'], row['outcome'], row['data'],
            row['leftovers']))
    return ok


def provider_traits(name):
    """The traits placement holds for resource provider NAME."""
    def get(path):
        r = requests.get(PLACEMENT + path, timeout=30, headers={
            'X-Auth-Token': TOKEN, 'OpenStack-API-Version':
            'placement 1.6'})
        r.raise_for_status()
        return r.json()
    [rp] = get('/resource_providers?name=%s' % name)['resource_providers']
    return get('/resource_providers/%s/traits' % rp['uuid'])['traits']


def bed(*args):
    r = subprocess.run(['bash', BED] + list(args), capture_output=True,
                       text=True, timeout=120)
    if r.returncode:
        raise Failed('bed.sh %s: %s' % (' '.join(args),
                                        (r.stdout + r.stderr)[-400:]))


def host_restart(sc, st, src, dst):
    """Scenario 7: a rescued server live-migrated to DST; DST loses power
    (nova-compute killed, the domain destroyed) and nova-compute starts
    again with resume_guests_state_on_host_boot: the rescue guest boots
    again, the server stays RESCUE there, unrescue works.
    """
    sid = st['sid']
    rescue_again(sc, st, src)
    action(sid, {'os-migrateLive': {'host': dst, 'block_migration': 'auto'}})
    sc.timed('live-migrate to %s -> RESCUE' % dst, _settled, sid, dst)
    dom = server(sid)['OS-EXT-SRV-ATTR:instance_name']
    check(domstate(dst, dom).startswith('running'),
          'rescue domain runs on %s' % dst)
    before = last_tick(console(sid))
    short = dst.replace('e2e-', '')
    sc.timed('power loss: nova-compute killed, domain destroyed', lambda: (
        bed('stop-compute', short), _virsh(dst, 'destroy', dom)))
    check(dom in virsh_list(dst) and domstate(dst, dom).startswith(
        'shut off'), 'domain stays defined on %s, shut off (%s)' % (
            dst, domstate(dst, dom)))
    bed('start-compute', short)

    def booted_again():
        t = last_tick(console(sid))
        if t and t[1] != before[1]:
            return t
    t = sc.timed('nova-compute back -> a guest boots again', wait,
                 'a new boot on the console', booted_again, 180, 1)
    check(t[0] == 'rescue', 'the guest that came back is the rescue guest '
          '(role=%s, boot id %s; before: %s)' % (t[0], t[1], before[1]))
    s = server(sid)
    check(s['status'] == 'RESCUE' and s['OS-EXT-SRV-ATTR:host'] == dst,
          'server is RESCUE on %s (%s on %s)' % (
              dst, s['status'], s['OS-EXT-SRV-ATTR:host']))
    action(sid, {'unrescue': None})
    sc.timed('unrescue on %s -> ACTIVE' % dst, wait_state, sid, 'ACTIVE',
             dst)
    t = sc.timed('original root boots (ticking)', wait_tick, sid, 'main')
    st['main_boot'] = t[1]  # what the ephemeral disk now carries


INSTANCES = '/var/lib/nova/instances'


def instance_files(short, sid):
    """Names in server SID's instance directory as host SHORT sees it (in
    its mount namespace: the shared mount, or its own directory), None when
    there is no such directory.
    """
    with open(os.path.join(STATE, 'pids', 'host-' + short)) as f:
        pid = f.read().strip()
    try:
        return sorted(os.listdir(os.path.join(
            '/proc', pid, 'root', INSTANCES.lstrip('/'), sid)))
    except FileNotFoundError:
        return None


def rescue_record(sid):
    """Keys of server SID's rescue record (system_metadata ``rescue_lm_*``)
    in the cell database.
    """
    query = ("select `key` from nova.instance_system_metadata where "
             "deleted = 0 and instance_uuid = '" + sid + "' and `key` "
             "like 'rescue\\_lm\\_%'")
    r = subprocess.run(['mariadb', '--no-defaults', '-S', os.path.join(
        STATE, 'mysql', 'sock'), '-N', '-e', query], capture_output=True,
        text=True, timeout=30)
    if r.returncode:
        raise Failed('cannot read the rescue record: %s' % r.stderr[-300:])
    return sorted(r.stdout.split())


def compute_service(host):
    return call('GET', '/os-services?host=%s&binary=nova-compute' % host
                ).json()['services'][0]


def force_down(host, down):
    """Mark HOST's nova-compute forced down (or not), as an operator does
    when the host has failed (PUT /os-services/{id}, 2.53+).
    """
    call('PUT', '/os-services/%s' % compute_service(host)['id'],
         {'forced_down': down})


def power_loss(sc, host, dom):
    """HOST loses power: its nova-compute SIGKILLed, domain DOM destroyed
    (it stays defined, shut off), the service forced down.
    """
    sc.timed('power loss on %s' % host, lambda: (
        bed('stop-compute', host[-2:]), _virsh(host, 'destroy', dom)))
    force_down(host, True)
    svc = compute_service(host)
    check(svc['state'] == 'down' and svc['forced_down'] and
          domstate(host, dom).startswith('shut off'),
          '%s is down (nova-compute killed, forced down) and the domain '
          'there is shut off (%s)' % (host, domstate(host, dom)))
    return svc['updated_at']


def evacuate(sc, sid, host_arg, version):
    """POST evacuate at VERSION (to HOST_ARG, None: no host); the answer."""
    return sc.timed('evacuate at %s (host %s) -> answer' % (
        version, host_arg), action, sid, {'evacuate': {'host': host_arg}
                                          if host_arg else {}},
        version=version, ok=None)


def compute_back(host, killed):
    """HOST's nova-compute has started and reports again: a heartbeat
    newer than KILLED, its last one before it died (nova-compute reports
    once its init_host is done; a server scheduled to it before then would
    be set to ERROR by it).
    """
    wait('a heartbeat of the restarted nova-compute on %s' % host,
         lambda: service_heartbeat(host) != killed, 180, 1)


def host_returns(sc, host, sid, dom, evac_id, killed):
    """HOST's nova-compute starts again (still forced down): nova's
    cleanup of evacuated instances destroys the server's domain there and
    completes the evacuation's migration record; then the operator lifts
    the forced down and the compute is up and enabled.
    """
    bed('start-compute', host[-2:])
    sc.timed('%s back: evacuation cleaned up' % host, wait,
             'the evacuation record completed', lambda: [
                 m for m in migrations(sid) if m['id'] == evac_id and
                 m['status'] == 'completed'], 180, 1)
    check(dom not in virsh_list(host), 'no domain of the server on %s '
          '(virsh list --all: %s)' % (host, virsh_list(host)))
    sc.timed('%s reports again' % host, compute_back, host, killed)
    force_down(host, False)
    sc.timed('%s up and enabled' % host, wait, '%s up and enabled' % host,
             lambda: compute_ready(host), 120, 1)


def restore_host(host, killed):
    """After a failure: HOST's nova-compute running, not forced down."""
    try:
        if not os.path.exists(os.path.join(STATE, 'pids', 'nova-compute-'
                                           + host[-2:])):
            bed('start-compute', host[-2:])
            compute_back(host, killed)
        force_down(host, False)
        wait('%s up and enabled' % host, lambda: compute_ready(host), 120, 1)
    except Exception as e:  # noqa: report the scenario's own failure
        log('restoring %s: %s' % (host, e))


def action_events_of(sid, name):
    """{event: result} of server SID's newest instance action NAME."""
    acts = [a for a in call('GET', '/servers/%s/os-instance-actions' % sid
                            ).json()['instanceActions']
            if a['action'] == name]
    if not acts:
        return {}
    newest = max(acts, key=lambda a: a['start_time'])
    d = call('GET', '/servers/%s/os-instance-actions/%s' % (
        sid, newest['request_id'])).json()['instanceAction']
    return {e['event']: e.get('result') for e in d.get('events', [])}


#: The evacuate action's event that says what became of the root disk
#: (doc/source/admin/evacuate.rst)
ROOT_EVENTS = {'shared': 'compute_rescue_ended_root_disk_kept',
               'block': 'compute_rescue_ended_root_disk_rebuilt_from_image'}


def no_rescue_left(host, sid, dom):
    """No rescue record, rescue file or rescue device of SID on HOST."""
    rec = rescue_record(sid)
    check(not rec, 'no rescue record left (system_metadata: %s)' % rec)
    files = instance_files(host[-2:], sid)
    check(files and 'disk' in files and not [
        f for f in files if f.endswith('.rescue')],
        'instance directory on %s holds the server\'s disks and no rescue '
        'file (disk.rescue, kernel.rescue, ramdisk.rescue, '
        'disk.config.rescue): %s' % (host, files))
    xml = _virsh(host, 'dumpxml', dom)
    check(dom in xml and '.rescue' not in xml and RESCUE_IMAGE not in xml,
          'the domain defined on %s uses no rescue disk, kernel, ramdisk, '
          'config drive or the rescue image' % host)


def evacuate_rescued(sc, mode, src='e2e-h1', dst='e2e-h2', host_arg=None):
    """Scenario 9: a rescued server whose host loses power is evacuated at
    2.106 (nova's 409 at 2.105); it comes back STOPPED on DST, its rescue
    ended; when SRC's nova-compute returns, nothing of the server is left
    there; started, it boots its own root (shared storage: with the data
    written up to the power loss; block: rebuilt from its own image).
    """
    shared = mode == 'shared'
    st = boot_and_rescue(sc, 'e2e-evacuate-' + mode)
    sid = st['sid']
    dom = server(sid)['OS-EXT-SRV-ATTR:instance_name']
    lb = last_boot(console(sid, 400))
    check('role=main bootid=%s' % st['main_boot'] in lb[2].get('vdb', ''),
          'the rescue guest found on the root disk (its vdb) what the main '
          'guest wrote before the rescue: %r' % lb[2].get('vdb'))
    rec = rescue_record(sid)
    check(rec, 'the rescue is recorded in the database: %s' % rec)
    # (the console is read through the server's compute: before it dies)
    before = wait_tick(sid, 'rescue', st['rescue_boot'], 2)
    known = {m['id'] for m in migrations(sid)}
    r = evacuate(sc, sid, host_arg, '2.106')
    check(r.status_code == 400 and 'still in use' in r.text, 'with %s up, '
          'evacuate at 2.106 answers %s (want 400, nova\'s "still in use"): '
          '%s' % (src, r.status_code, r.text[:200]))
    gone, killed = True, service_heartbeat(src)
    try:
        killed = power_loss(sc, src, dom)
        r = evacuate(sc, sid, host_arg, '2.105')
        check(r.status_code == 409, 'evacuate at 2.105 answers %s (want '
              '409, as nova): %s' % (r.status_code, r.text[:200]))
        s = server(sid)
        check(s['status'] == 'RESCUE' and s['OS-EXT-SRV-ATTR:host'] == src
              and not [m for m in migrations(sid) if m['id'] not in known],
              'nothing moved: still RESCUE on %s, no migration record'
              % src)
        r = evacuate(sc, sid, host_arg, '2.106')
        check(r.status_code == 200, 'evacuate at 2.106 answers %s %s' % (
            r.status_code, r.text[:300]))

        # (nova stops the server before it moves it to the new host and
        # marks its evacuation record done, together: wait for both)
        def ended():
            s = server(sid)
            evac = [m for m in migrations(sid) if m['id'] not in known and
                    m['status'] in ('done', 'failed', 'error')]
            if s['OS-EXT-STS:task_state'] is None and evac:
                return s
        s = sc.timed('evacuation -> done', wait, 'the evacuation to end',
                     ended, 180, 1)
        check(s['status'] == 'SHUTOFF' and s['OS-EXT-SRV-ATTR:host'] == dst,
              'server SHUTOFF on %s (%s on %s; fault %s; failed events %s)'
              % (dst, s['status'], s['OS-EXT-SRV-ATTR:host'],
                 s.get('fault'), action_events(sid)))
        evac = [m for m in migrations(sid) if m['id'] not in known]
        check(len(evac) == 1 and evac[0]['migration_type'] == 'evacuation'
              and evac[0]['dest_compute'] == dst,
              'one evacuation record %s -> %s: %s' % (src, dst, [
                  (m['migration_type'], m['status'], m['dest_compute'])
                  for m in evac]))
        check(s['OS-EXT-STS:vm_state'] == 'stopped' and domstate(
            dst, dom).startswith('shut off'), 'server STOPPED on %s '
            '(vm_state %s), its domain there shut off (%s)' % (
                dst, s['OS-EXT-STS:vm_state'], domstate(dst, dom)))
        no_rescue_left(dst, sid, dom)
        events = action_events_of(sid, 'evacuate')
        check(events.get(ROOT_EVENTS[mode]) == 'Success' and not [
            e for e in ROOT_EVENTS.values() if e != ROOT_EVENTS[mode] and
            e in events], 'the evacuate action says what became of the '
            'root disk: %s (events %s)' % (ROOT_EVENTS[mode], events))
        host_returns(sc, src, sid, dom, evac[0]['id'], killed)
        gone = False
    finally:
        if gone:
            restore_host(src, killed)
    files = instance_files(src[-2:], sid)
    if shared:
        # the same directory as on the destination: nova's cleanup on the
        # source must leave the server's disks there
        check(files and 'disk' in files and not [
            f for f in files if f.endswith('.rescue')],
            'the shared instance directory keeps the server\'s disks and no '
            'rescue file after %s\'s cleanup: %s' % (src, files))
    else:
        left = host_leftovers(src[-2:], sid, cache=False)
        check(files is None and not left, 'nothing of the server left on %s '
              '(instance directory %s, domain): %s' % (src, files, left))
    s = server(sid)
    check(s['status'] == 'SHUTOFF' and s['OS-EXT-SRV-ATTR:host'] == dst,
          'server still SHUTOFF on %s' % dst)
    action(sid, {'os-start': None})
    sc.timed('start on %s -> ACTIVE' % dst, wait_state, sid, 'ACTIVE', dst)

    def booted():
        t = last_tick(console(sid))
        if t and t[1] not in (st['main_boot'], st['rescue_boot']):
            return t
    t = sc.timed('its own root boots (ticking)', wait, 'a new boot ticking',
                 booted, 120, 1)
    lb = last_boot(console(sid, 400))
    check(t[0] == 'main' and lb and lb[:2] == ('main', t[1]),
          'the main image booted (role=%s, boot id %s), not the rescue '
          'image' % (t[0], t[1]))
    vda, vdb = lb[2].get('vda', ''), lb[2].get('vdb', '')
    if shared:
        m = re.search(r'role=rescue bootid=%s tick=(\d+)'
                      % st['rescue_boot'], vda)
        # (the guest writes one sector: the rescue guest's ticks replaced
        # there what the main guest wrote before the rescue, which the
        # rescue guest read at its boot, checked above)
        check(m and int(m.group(1)) >= before[2], 'root disk is the very '
              'disk: it carries what was written on it until the power '
              'loss, the rescue guest\'s ticks (tick %d on the console '
              'then): %r' % (before[2], vda))
        check('role=main bootid=%s' % st['main_boot'] in vdb,
              'ephemeral disk carries what the guest wrote before the '
              'rescue: %r' % vdb)
    else:
        old = ('role=rescue', 'bootid=%s' % st['main_boot'])
        check(not [x for x in old if x in vda + vdb], 'root and ephemeral '
              'disks rebuilt from the image and flavor, as nova evacuates '
              'without shared storage: no mark of the rescue guest or of '
              'the boot before the rescue (root %r, ephemeral %r)'
              % (vda, vdb))
    cds = [v for k, v in lb[2].items() if k.startswith('cdrom:')]
    check(sid in cds, 'config drive carries this server\'s uuid (%s)' % cds)
    call('DELETE', '/servers/%s' % sid)
    wait('server deleted', lambda: call('GET', '/servers/%s' % sid,
                                        ok=None).status_code == 404, 120)


def cli(*args, ok=True):
    """Run a real client (openstack / nova CLI) with the bed's keystone
    credentials (STATE/openrc). Returns (rc, output).
    """
    env = dict(os.environ)
    for line in open(os.path.join(STATE, 'openrc')):
        for kv in line.replace('export ', '').split():
            k, _, v = kv.partition('=')
            env[k] = v
    binp = os.path.dirname(sys.executable)
    r = subprocess.run([os.path.join(binp, args[0])] + list(args[1:]),
                       capture_output=True, text=True, env=env, timeout=120)
    out = '\n'.join(line for line in (r.stdout + r.stderr).splitlines()
                    if 'is deprecated' not in line).strip()
    if ok and r.returncode:
        raise Failed('%s -> rc %s: %s' % (
            ' '.join(args), r.returncode, out[-400:]))
    return r.returncode, out


def _settled(sid, host):
    s = wait('migration to end', lambda: (lambda s: s if s[
        'OS-EXT-STS:task_state'] is None else None)(server(sid)), 180)
    check(s['OS-EXT-SRV-ATTR:host'] == host and s['status'] == 'RESCUE',
          'RESCUE on %s (%s on %s)' % (host, s['status'],
                                       s['OS-EXT-SRV-ATTR:host']))


def upgrade_check():
    """``nova-rescue-lm-status upgrade check`` as an operator runs it on the
    API node: nova-api's nova.conf and environment (OS_NOVA_CONFIG_DIR).
    The running nova-api is found through keystone's catalog and asked.
    """
    etc = os.path.join(STATE, 'etc', 'nova')
    r = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable),
                      'nova-rescue-lm-status'),
         '--config-file', os.path.join(etc, 'nova.conf'),
         'upgrade', 'check', '--json'],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, OS_NOVA_CONFIG_DIR=etc))
    try:
        results = {c['check']: c
                   for c in jsonutils.loads(r.stdout)['checks']}
    except ValueError:
        raise Failed('nova-rescue-lm-status -> rc %s: %s' % (
            r.returncode, (r.stdout + r.stderr)[-600:]))
    for name, c in results.items():
        log('upgrade check: %s: %s: %s' % (name, c['result'], c['details']))
    for name in ('nova internals', 'API paste pipeline', 'Running API'):
        check(results[name]['result'] == 0, '%s: Success' % name)
    offered = requests.get(API + '/', timeout=30, headers={
        'X-Auth-Token': TOKEN}).json()['version']['version']
    check(offered == microversions.MAX and 'offers microversion %s' % offered
          in results['Running API']['details'], 'the running nova-api '
          'offers %s, the package\'s maximum (%s), as the check says'
          % (offered, microversions.MAX))
    # e2e-h3 runs nova's stock driver: a warning naming it, exit 1
    check(r.returncode == 1 and 'e2e-h3' in
          results['Compute capability']['details'],
          'exit 1, the capability warning names e2e-h3 (rc %s)'
          % r.returncode)


def real_clients(sc):
    """The operator's tools against keystone and the catalog: the upgrade
    check asks the running nova-api; the openstack CLI boots and rescues a
    server; the nova CLI live-migrates it at 2.105 (e2e-h1 -> e2e-h2), the
    drain command empties e2e-h2 (-> e2e-h1), the openstack CLI plugin
    command moves it to e2e-h2 again; unrescue with the openstack CLI.
    """
    sc.timed('nova-rescue-lm-status upgrade check', upgrade_check)
    ensure_flavor()
    sc.timed('openstack server create --wait', cli, 'openstack',
             'server', 'create', '--image', 'e2e-main', '--flavor', FLAVOR,
             '--nic', 'none', '--availability-zone', 'nova:e2e-h1', '--wait',
             'e2e-cli')
    sid = cli('openstack', 'server', 'show', '-f', 'value', '-c', 'id',
              'e2e-cli')[1].strip()
    wait_tick(sid, 'main')
    cli('openstack', 'server', 'rescue', '--image', 'e2e-rescue', 'e2e-cli')
    sc.timed('openstack server rescue -> RESCUE', wait_state, sid,
             'RESCUE', 'e2e-h1')

    rc, out = cli('nova', 'live-migration', 'e2e-cli', 'e2e-h2', ok=False)
    check(rc != 0 and '409' in out, 'without --os-compute-api-version the '
          'nova CLI behaves as stock (409): rc %s %s' % (rc, out[-200:]))
    sc.timed('nova --os-compute-api-version 2.105 live-migration', cli,
             'nova', '--os-compute-api-version', '2.105', 'live-migration',
             'e2e-cli', 'e2e-h2')
    sc.timed('-> RESCUE on e2e-h2', _settled, sid, 'e2e-h2')

    # e2e-h2 holds only this server; the scheduler may pick only e2e-h1
    # for it (e2e-h3 runs nova's stock driver).
    rc, out = sc.timed('nova-rescue-lm-drain e2e-h2', cli,
                       'nova-rescue-lm-drain', 'e2e-h2', ok=False)
    log('drain: rc %s\n%s' % (rc, out[-800:]))
    check(rc == 0, 'drain of e2e-h2 exits 0')
    _settled(sid, 'e2e-h1')
    check(virsh_list('e2e-h2') == [], 'nothing left running on e2e-h2')

    rc, out = sc.timed(
        'openstack rescued server migrate --wait', cli, 'openstack',
        'rescued', 'server', 'migrate', '--host', 'e2e-h2', '--wait',
        'e2e-cli')
    log('openstack: %s' % out.strip().splitlines()[-1])
    _settled(sid, 'e2e-h2')

    cli('openstack', 'server', 'unrescue', 'e2e-cli')
    sc.timed('openstack server unrescue -> ACTIVE', wait_state, sid,
             'ACTIVE', 'e2e-h2')


TEMPEST_CONF = """[DEFAULT]
log_dir = {ws}/logs
[auth]
use_dynamic_credentials = True
admin_username = admin
admin_password = {password}
admin_project_name = admin
admin_domain_name = Default
[identity]
uri_v3 = http://127.0.0.1:35357/v3
auth_version = v3
region = RegionOne
[identity-feature-enabled]
api_v2 = False
[service_available]
nova = True
neutron = False
glance = True
cinder = False
swift = False
placement = True
[compute]
image_ref = {main}
image_ref_alt = {rescue}
flavor_ref = {flavor}
flavor_ref_alt = {flavor}
min_compute_nodes = 2
min_microversion = 2.1
max_microversion = 2.106
build_timeout = 300
build_interval = 2
ready_wait = 0
[compute-feature-enabled]
live_migration = True
rescue = True
[placement]
min_microversion = 1.0
max_microversion = latest
[validation]
run_validation = False
[rescue_lm]
live_migrate_rescued = True
rescue_image_ref = {rescue}
"""


def tempest_plugin(sc):
    """The package's tempest plugin, run by tempest's own runner against
    this bed (real keystone, dynamic credentials).
    """
    ensure_flavor()
    ws = os.path.join(os.path.dirname(STATE), 'tempest')
    registry = ws + '-workspaces.yaml'    # not the user's ~/.tempest
    subprocess.run(['rm', '-rf', ws, registry], check=True)
    binp = os.path.dirname(sys.executable)
    sc.timed('tempest init', subprocess.run,
             [os.path.join(binp, 'tempest'), 'init', '--name',
              'nova-rescue-lm-e2e', '--workspace-path', registry, ws],
             check=True, capture_output=True)
    with open(os.path.join(ws, 'etc', 'tempest.conf'), 'w') as f:
        f.write(TEMPEST_CONF.format(ws=ws, password='e2e-secret',
                                    main=MAIN_IMAGE, rescue=RESCUE_IMAGE,
                                    flavor=FLAVOR))
    listed = subprocess.run(
        [os.path.join(binp, 'tempest'), 'run', '--list-tests', '--regex',
         r'^nova_rescue_lm\.'], cwd=ws, capture_output=True, text=True)
    n = len([line for line in listed.stdout.splitlines()
             if line.startswith('nova_rescue_lm.')])
    check(n >= 3, 'tempest discovers the plugin\'s tests through its entry '
          'point (%d found): %s' % (n, (listed.stdout + listed.stderr)[-300:]))
    r = sc.timed('tempest run (%d tests)' % n, subprocess.run,
                 [os.path.join(binp, 'tempest'), 'run', '--serial',
                  '--regex', r'^nova_rescue_lm\.'], cwd=ws,
                 capture_output=True, text=True, timeout=1800)
    out = r.stdout + r.stderr
    for line in out.splitlines():
        if (' ... ' in line or line.startswith((' - Passed', ' - Failed',
                                                ' - Skipped'))):
            log('tempest: ' + line.strip())
    passed = re.search(r'- Passed: (\d+)', out)
    check(r.returncode == 0 and passed and int(passed.group(1)) == n,
          'tempest run: rc %s, %s of %d passed; tail: %s' % (
              r.returncode, passed.group(1) if passed else '?', n,
              out[-1500:]))


def delete_all():
    for s in call('GET', '/servers').json()['servers']:
        call('DELETE', '/servers/%s' % s['id'], ok=None)
    wait('servers deleted',
         lambda: not call('GET', '/servers').json()['servers'], 120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mode', choices=['shared', 'block'], required=True)
    ap.add_argument('--results', required=True)
    a = ap.parse_args()
    ok = True
    if a.mode == 'shared':
        holder = {}

        def s1(sc):
            holder.update(boot_and_rescue(sc, 'e2e-shared'))

            def s4(sc4):
                scenario_409(sc4, holder)
            holder['s4'] = Scenario(
                'scenario 4: os-migrateLive at 2.104 on a rescued server '
                '-> 409, nothing moves', a.results).run(s4)
            holder['s4b'] = Scenario(
                'scenario 4: os-migrateLive at 2.105 with a compute that runs '
                'nova\'s stock driver (destination or source) -> 400 naming '
                'it, nothing moves', a.results).run(
                    lambda sc4: scenario_stock_400(sc4, holder))
            live_migrate(sc, holder, False, host_arg='e2e-h2')
        ok &= Scenario('scenario 2 (shared instance storage; bindfs '
                       'glusterfs stand-in for NFS): boot -> rescue -> '
                       'live-migrate at 2.105 -> keeps ticking -> unrescue '
                       'on destination', a.results).run(s1)
        if holder.get('main_boot') and ok:
            def s3(sc):
                rescue_again(sc, holder, 'e2e-h2')
                live_migrate(sc, holder, 'auto', src='e2e-h2',
                             dst='e2e-h1', host_arg=None)
            holder['s3'] = Scenario(
                'scenario 3 (shared storage): rescued server, live-migrate '
                'at 2.105 with no host -> the scheduler picks the other '
                'capable host, never the stock e2e-h3', a.results).run(s3)
            ok &= holder['s3']
        if os.path.exists(os.path.join(STATE, 'openrc')):
            ok &= Scenario('real clients against keystone: openstack CLI '
                           'boots and rescues; live-migrate at 2.105 with '
                           'the nova CLI, the openstack CLI plugin and the '
                           'drain command',
                           a.results).run(real_clients)
            for srv in call('GET', '/servers?name=e2e-cli').json()['servers']:
                call('DELETE', '/servers/%s' % srv['id'], ok=None)
        if holder.get('s3'):
            holder['s5'] = Scenario(
                'scenario 5 (shared storage): a live migration of a '
                'rescued server aborted midway leaves it RESCUE and running '
                'on the source; unrescue there works', a.results).run(
                    lambda sc: interrupted_migration(sc, holder, 'e2e-h1',
                                                     'e2e-h2'))
            ok &= holder['s5']
            if holder.get('s5'):
                holder['s7'] = Scenario(
                    'scenario 7 (shared storage): the destination of a '
                    'rescued server\'s live migration loses power; '
                    'nova-compute comes back and the server with it, '
                    'RESCUE in its rescue guest; unrescue there works',
                    a.results).run(lambda sc: host_restart(
                        sc, holder, 'e2e-h1', 'e2e-h2'))
                ok &= holder['s7']
        if holder.get('s7'):
            def s8(sc):
                rescue_again(sc, holder, 'e2e-h2')
                stale_capability(sc, holder, 'shared', src='e2e-h2',
                                 dst='e2e-h1')
                rescue_again(sc, holder, 'e2e-h2')
            if Scenario('scenario 8 (shared storage): e2e-h1 switched back '
                        'to nova\'s stock driver keeps the trait; 400, never '
                        'scheduled; unrescue on e2e-h2', a.results).run(s8):
                ok &= fault_table(a.results, 'shared', holder, 'e2e-h2',
                                  'e2e-h1', SHARED_FAULTS)
            else:
                ok = False
        try:
            delete_all()
        except Exception as e:  # noqa
            log('cleanup: %s' % e)
        ok &= Scenario(
            'scenario 9 (shared storage): e2e-h1 loses power with a rescued '
            'server on it; evacuate to e2e-h2 at 2.106 (409 at 2.105) -> '
            'STOPPED there, rescue ended; e2e-h1 back leaves no domain; '
            'started, it boots its own root with its data',
            a.results).run(lambda sc: evacuate_rescued(
                sc, 'shared', host_arg='e2e-h2'))
        if os.path.exists(os.path.join(STATE, 'openrc')):
            try:
                delete_all()
            except Exception as e:  # noqa
                log('cleanup: %s' % e)
            ok &= Scenario('tempest plugin (tempest run, real keystone): '
                           'live-migrate a rescued server and unrescue it; '
                           '409 below 2.105', a.results).run(tempest_plugin)
    else:
        if os.path.exists(os.path.join(STATE, 'openrc')):
            faulty = {}

            def s8(sc):
                faulty.update(boot_and_rescue(sc, 'e2e-faults'))
                stale_capability(sc, faulty, 'block')
                rescue_again(sc, faulty, 'e2e-h1')
            s8ok = Scenario(
                'scenario 8 (block migration): e2e-h2 switched back to '
                'nova\'s stock driver keeps the trait; 400 naming it, the '
                'scheduler never picks it, nothing lands there; unrescue on '
                'e2e-h1 finds every disk\'s data', a.results).run(s8)
            ok &= s8ok
            if s8ok:
                ok &= fault_table(a.results, 'block', faulty, 'e2e-h1',
                                  'e2e-h2', BLOCK_FAULTS)
            try:
                delete_all()
            except Exception as e:  # noqa
                log('cleanup: %s' % e)
        ok &= Scenario(
            'scenario 9 (block migration, separate instance storage): e2e-h1 '
            'loses power with a rescued server on it; evacuate at 2.106 with '
            'no host (409 at 2.105) -> the scheduler picks e2e-h2, STOPPED '
            'there, rescue ended; e2e-h1 back keeps no domain or file of '
            'it; started, it boots its own image rebuilt, not the rescue '
            'image', a.results).run(lambda sc: evacuate_rescued(
                sc, 'block'))
        s6 = []

        def s1b(sc):
            st = boot_and_rescue(sc, 'e2e-block')

            def hook(st):
                s6.append(Scenario(
                    'scenario 6: after a block migration the destination\'s '
                    'image cache file for the rescue image is '
                    'byte-identical to the rescue image', a.results).run(
                        lambda sc6: image_cache_identical(sc6, st)))
            live_migrate(sc, st, True, host_arg='e2e-h2', after_move=hook)
        ok &= Scenario('scenario 1 (block migration, separate instance '
                       'storage): boot -> rescue -> live-migrate at 2.105 '
                       '-> keeps ticking -> unrescue on destination',
                       a.results).run(s1b)
        if not s6:
            with open(a.results, 'a') as f:
                f.write(jsonutils.dumps({
                    'name': 'scenario 6: destination image cache file for '
                    'the rescue image', 'passed': False, 'error': 'not '
                    'reached: the block migration did not complete'}) + '\n')
            ok = False
    try:
        delete_all()
    except Exception as e:  # noqa
        log('cleanup: %s' % e)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
