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

"""API overhead of nova-rescue-lm's router against nova's own, in one process.

nova's functional harness runs nova's API, conductor, scheduler, placement
and two computes (``rescue_lm.libvirt.LibvirtDriver`` on nova's fake
libvirt). Two WSGI apps are built in the same process from two paste files
that differ only in the router factories: nova 34's installed
``etc/nova/api-paste.ini`` (stock) and the package's
``etc/nova-rescue-lm/api-paste.ini``. Every request is a webob request
handed straight to an app (no sockets), the two apps interleaved sample by
sample (order alternating), after a warm-up that is thrown away.

Figures (median of each arm; ratio of medians with a paired bootstrap 95 %
interval). The figure is the CPU time of the request (this process's one OS
thread, where nova's services run as green threads; nothing else is in
flight during a timed call): on a shared machine, wall time also counts the
time other processes held the CPU. The wall-time ratio is reported beside
it. (With ``OS_NOVA_DISABLE_EVENTLET_PATCHING=1`` a rescued request reads
placement on nova's worker threads, so the whole process's CPU time is
taken instead; ``tox -e bench`` runs in nova's default, eventlet, mode.)

Placement runs in this process too, so its handling of the capability
check's requests counts in the rescued arm's CPU time; in a deployment it
runs in placement's own service. How much of the rescued request it is
(CPU time inside placement's WSGI pipeline) is reported as context, with
the ratio the request would have without it.

* ``GET /servers/detail`` (10 servers) at 2.104: package / stock;
  the same through the package at 2.105 / stock at 2.104;
* ``os-migrateLive`` of an ACTIVE server at 2.104 to an explicit host:
  package / stock;
* ``os-migrateLive`` of a RESCUED server at 2.105 / of an ACTIVE server at
  2.104, both through the package, same host pair, explicit host (the
  capability checks of both nodes run); and, as context, the same without
  placement's handling of the check's requests.

For os-migrateLive only the API call is timed (RPC casts stay casts: nova-api
answers 202 before the conductor starts); between two calls the migration
is waited for (migration record ``completed``, task state cleared), so every
call starts from the same state: nothing in flight, the server on one host
of the pair, the request naming the other.

The rounds are split over several processes run one after the other (3 by
default), each with its own hash seed and, every other one, the package's
app loaded first: a ratio measured in one process can carry a few per cent
of that process's layout (seen here: 1.00 in one, 1.09 in another, for the
same code), which pooling cancels.

In one process nova's own app also advertises 2.105 (the package raises
nova's maximum microversion at import); requests at 2.104 are unaffected.
"""

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import report  # noqa: E402
import stats  # noqa: E402

SERVERS = 10
HOSTS = ('bench-h1', 'bench-h2')

DEFAULTS = {'detail': 240, 'migrate': 48, 'warmup_detail': 20,
            'warmup_migrate': 2, 'processes': 3}
QUICK = {'detail': 100, 'migrate': 16, 'warmup_detail': 10,
         'warmup_migrate': 2, 'processes': 1}


class Apps(object):
    """The two WSGI apps and a request builder with the harness's headers.
    """

    def __init__(self, case, package_first=False):
        from nova.api import wsgi as nova_wsgi
        import webob

        from tests.functional import base

        self.webob = webob
        self.case = case
        order = ['stock', 'package']
        if package_first:
            order.reverse()
        paste = {'stock': base.STOCK_PASTE_INI, 'package': base.PASTE_INI}
        for name in order:
            setattr(self, name, nova_wsgi.Loader(paste[name]).load_app(
                'osapi_compute'))
        self.paste = {'stock': base.STOCK_PASTE_INI,
                      'package': base.PASTE_INI}

    def request(self, method, path, body=None, microversion=None):
        req = self.webob.Request.blank('/v2.1' + path, method=method)
        req.headers.update({
            'X-Auth-User': 'admin', 'X-User-Id': 'admin',
            'X-Auth-Project-Id': self.case.api.project_id,
            'X-Roles': 'reader,member,admin',
            'Content-Type': 'application/json'})
        if microversion:
            req.headers['OpenStack-API-Version'] = 'compute ' + microversion
        if body is not None:
            req.body = json.dumps(body).encode()
        return req

    @staticmethod
    def timed(app, req):
        """((CPU seconds, wall seconds), response) of one request.

        CPU time of this thread: the harness runs nova's services as
        eventlet green threads of this one OS thread, and nothing else is
        in flight during a timed call, so it is the work the request costs,
        whatever else the (shared) machine runs meanwhile.
        """
        wall = time.perf_counter()
        cpu = cpu_clock()
        resp = req.get_response(app)
        return (cpu_clock() - cpu,
                time.perf_counter() - wall), resp


def cpu_clock():
    """This thread's CPU time; the process's with native threads."""
    from nova import utils
    if utils.concurrency_mode_threading():
        return time.process_time()
    return time.thread_time()


class PlacementTime(object):
    """CPU seconds placement's WSGI pipeline (from its outermost own
    middleware, the request log) spends on requests.

    The check's requests are in flight together, and beside nova's own
    checks of the server: with green threads all of them interleave on this
    one OS thread. So the time is counted per green thread, only while one
    that is inside placement runs (greenlet's switch trace), not over the
    wall-clock window in which placement is busy.
    """

    def __init__(self):
        import greenlet
        from placement import requestlog
        import webob.dec
        self.seconds = 0.0
        self._inside = set()
        self._since = time.thread_time()
        placements = requestlog.RequestLog.__call__  # a webob.dec.wsgify
        timer = self

        @webob.dec.wsgify
        def call(self_, req):
            timer._enter(greenlet.getcurrent())
            try:
                return req.get_response(
                    placements.__get__(self_, type(self_)))
            finally:
                timer._leave(greenlet.getcurrent())
        requestlog.RequestLog.__call__ = call
        greenlet.settrace(self._switch)

    def _account(self, current):
        now = time.thread_time()
        if current in self._inside:
            self.seconds += now - self._since
        self._since = now

    def _switch(self, event, args):
        if event in ('switch', 'throw'):
            origin, _target = args
            self._account(origin)

    def _enter(self, current):
        self._account(None)
        self._inside.add(current)

    def _leave(self, current):
        self._account(current)
        self._inside.discard(current)


def _check(resp, status, what):
    if resp.status_int != status:
        raise AssertionError('%s answered %s, expected %s: %s' % (
            what, resp.status_int, status, resp.body[:300]))


def measure_detail(apps, reps, warmup):
    """Arms: stock at 2.104, package at 2.104, package at 2.105."""
    arms = [('stock', apps.stock, '2.104'),
            ('package', apps.package, '2.104'),
            ('package_2.105', apps.package, '2.105')]
    samples = {name: [] for name, _, _ in arms}
    walls = {name: [] for name, _, _ in arms}
    sizes = {}
    for i in range(warmup + reps):
        # rotate the order every round: no arm always goes first
        order = arms[i % 3:] + arms[:i % 3]
        for name, app, version in order:
            req = apps.request('GET', '/servers/detail',
                               microversion=version)
            (cpu, wall), resp = apps.timed(app, req)
            _check(resp, 200, 'GET /servers/detail (%s)' % name)
            sizes.setdefault(name, set()).add(len(resp.body))
            if i >= warmup:
                samples[name].append(cpu)
                walls[name].append(wall)
    servers = len(json.loads(resp.body)['servers'])
    return samples, walls, servers, {k: sorted(v) for k, v in sizes.items()}


class Mover(object):
    """Live-migrates a server back and forth between the two hosts and
    waits, outside the timed call, until nothing is in flight.
    """

    def __init__(self, case, apps):
        from nova import context
        from nova import objects
        self.objects = objects
        self.ctxt = context.get_admin_context()
        self.case = case
        self.apps = apps
        self.placement = PlacementTime()

    def host_of(self, server_id):
        return self.objects.Instance.get_by_uuid(self.ctxt, server_id).host

    def migrate(self, app, server_id, microversion, name):
        """((cpu, wall), placement CPU seconds) of one os-migrateLive."""
        source = self.host_of(server_id)
        dest = HOSTS[1] if source == HOSTS[0] else HOSTS[0]
        req = self.apps.request(
            'POST', '/servers/%s/action' % server_id,
            {'os-migrateLive': {'host': dest, 'block_migration': 'auto'}},
            microversion)
        placement = self.placement.seconds
        seconds, resp = self.apps.timed(app, req)
        placement = self.placement.seconds - placement
        _check(resp, 202, 'os-migrateLive (%s)' % name)
        self.wait(server_id, dest)
        return seconds, placement

    def wait(self, server_id, dest, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            inst = self.objects.Instance.get_by_uuid(self.ctxt, server_id)
            if inst.host == dest and inst.task_state is None:
                migs = self.objects.MigrationList.get_by_filters(
                    self.ctxt, {'instance_uuid': server_id})
                last = max(migs, key=lambda m: m.id)
                if last.status == 'completed':
                    # the source's cleanup (allocations) ends just after
                    time.sleep(0.1)
                    return
                if last.status in ('error', 'failed', 'cancelled'):
                    break
            time.sleep(0.02)
        raise AssertionError('live migration of %s to %s did not complete '
                             '(see the log)' % (server_id, dest))


def _round_order(arms, i):
    """The order of round ``i``: the two ACTIVE arms (one server) swap
    places every round, so each migrates it in both directions equally
    often; the RESCUED arm (its own server) moves through the positions.
    """
    stock, package, rescued = arms
    pair = [stock, package] if i % 2 == 0 else [package, stock]
    pair.insert(i % 3, rescued)
    return pair


def measure_migrate(case, apps, reps, warmup):
    """Arms: ACTIVE via stock at 2.104, ACTIVE via package at 2.104,
    RESCUED via package at 2.105; one sample of each per round.

    Every call migrates its server to the other host of the pair; each arm
    goes in both directions equally often (warm-up and rounds are even).
    """
    mover = Mover(case, apps)
    active = case._create_server(name='bench-active', host=HOSTS[0],
                                 networks='none')
    rescued = case._rescue_server(case._create_server(
        name='bench-rescued', host=HOSTS[0], networks='none'))
    arms = [('stock', apps.stock, active['id'], '2.104'),
            ('package', apps.package, active['id'], '2.104'),
            ('package_rescued_2.105', apps.package, rescued['id'], '2.105')]
    samples = {arm[0]: [] for arm in arms}
    walls = {arm[0]: [] for arm in arms}
    placement = {arm[0]: [] for arm in arms}
    for i in range(warmup + reps):
        for name, app, server_id, version in _round_order(arms, i):
            gc.collect()
            (cpu, wall), in_placement = mover.migrate(
                app, server_id, version, name)
            if i >= warmup:
                samples[name].append(cpu)
                walls[name].append(wall)
                placement[name].append(in_placement)
    states = {name: case._show_server({'id': sid})['status']
              for name, sid in (('active', active['id']),
                                ('rescued', rescued['id']))}
    if states != {'active': 'ACTIVE', 'rescued': 'RESCUE'}:
        raise AssertionError('servers ended %s' % states)
    return samples, walls, placement


def body(settings):
    def run(case):
        apps = Apps(case, settings.get('package_first', False))
        for i in range(SERVERS):
            case._create_server(name='bench-%d' % i, host=HOSTS[i % 2],
                                networks='none')
        started = time.monotonic()
        detail, detail_wall, listed, sizes = measure_detail(
            apps, settings['detail'], settings['warmup_detail'])
        detail_seconds = time.monotonic() - started
        started = time.monotonic()
        migrate, migrate_wall, migrate_placement = measure_migrate(
            case, apps, settings['migrate'], settings['warmup_migrate'])
        return {'detail': detail, 'detail_wall': detail_wall,
                'migrate_wall': migrate_wall,
                'migrate_placement': migrate_placement,
                'detail_servers': listed,
                'detail_body_sizes': sizes,
                'detail_seconds': detail_seconds,
                'migrate': migrate,
                'migrate_seconds': time.monotonic() - started,
                'paste': apps.paste,
                'package': harness.package_location()}
    return run


def _ms(summary):
    return ('median %.2f ms (p10 %.2f, p90 %.2f; n %d)' % (
        summary['median'] * 1e3, summary['p10'] * 1e3,
        summary['p90'] * 1e3, summary['n']))


def _ratio_figure(fid, title, num, den, num_name, den_name, limit, extra,
                  walls):
    """Ratio of median CPU times; the wall-time ratio alongside."""
    r = stats.median_ratio(num, den)
    w = stats.median_ratio(*walls)
    s_num, s_den = stats.summary(num), stats.summary(den)
    spread = ('CPU time, 95%% CI %.3f-%.3f; %s %s; %s %s. Wall time: ratio '
              '%.3f (95%% CI %.3f-%.3f), %s median %.2f ms, %s %.2f ms' % (
                  r['ci95'][0], r['ci95'][1], num_name, _ms(s_num),
                  den_name, _ms(s_den), w['ratio'], w['ci95'][0],
                  w['ci95'][1], num_name, stats.median(walls[0]) * 1e3,
                  den_name, stats.median(walls[1]) * 1e3))
    return report.figure(fid, title, r['ratio'], limit=limit, spread=spread,
                         details=dict(extra, ci95=r['ci95'],
                                      numerator=dict(s_num, arm=num_name),
                                      denominator=dict(s_den, arm=den_name),
                                      wall_ratio=w['ratio'],
                                      wall_ci95=w['ci95'],
                                      wall_numerator=stats.summary(
                                          walls[0]),
                                      wall_denominator=stats.summary(
                                          walls[1])))


def figures(raw):
    d, m = raw['detail'], raw['migrate']
    dw, mw = raw['detail_wall'], raw['migrate_wall']
    common = {'servers_listed': raw['detail_servers']}
    figs = [
        _ratio_figure(
            'api.detail', 'API: GET /servers/detail (%d servers) at 2.104, '
            'package router / nova router' % raw['detail_servers'],
            d['package'], d['stock'], 'package', 'nova', 1.02, common,
            (dw['package'], dw['stock'])),
        _ratio_figure(
            'api.detail_2.105', 'API: GET /servers/detail at 2.105 through '
            'the package / at 2.104 through nova',
            d['package_2.105'], d['stock'], 'package 2.105', 'nova 2.104',
            1.02, common, (dw['package_2.105'], dw['stock'])),
        _ratio_figure(
            'api.migrate_active', 'API: os-migrateLive of an ACTIVE server '
            'at 2.104 (202), package router / nova router',
            m['package'], m['stock'], 'package', 'nova', 1.02, {},
            (mw['package'], mw['stock'])),
        _ratio_figure(
            'api.migrate_rescued', 'API: os-migrateLive of a RESCUED server '
            'at 2.105 / of an ACTIVE server at 2.104 (both package, '
            'explicit host: both nodes\' capability checked)',
            m['package_rescued_2.105'], m['package'], 'rescued 2.105',
            'active 2.104', 1.05, {},
            (mw['package_rescued_2.105'], mw['package'])),
        _without_placement(raw),
    ]
    if raw['detail_body_sizes']['package'] != \
            raw['detail_body_sizes']['stock']:
        figs[0]['note'] = ('response sizes differ: %s'
                           % raw['detail_body_sizes'])
    return figs


def _without_placement(raw):
    """Context: the rescued / active ratio without placement's handling of
    the check's requests (placement's own service in a deployment).
    """
    m, p = raw['migrate'], raw['migrate_placement']
    rescued = m['package_rescued_2.105']
    inside = p['package_rescued_2.105']
    own = [cpu - pl for cpu, pl in zip(rescued, inside)]
    r = stats.median_ratio(own, m['package'])
    return report.figure(
        'api.migrate_rescued_own', 'API: the same, without the CPU time '
        'placement spent handling the capability check\'s requests (it '
        'runs in nova-api\'s process here, in its own service in a '
        'deployment); context', r['ratio'],
        spread='95%% CI %.3f-%.3f; placement handling median %.2f ms of '
               'the rescued request\'s %.2f ms (active: %.2f ms in '
               'placement)' % (
                   r['ci95'][0], r['ci95'][1], stats.median(inside) * 1e3,
                   stats.median(rescued) * 1e3,
                   stats.median(p['package']) * 1e3),
        details={'ci95': r['ci95'],
                 'placement_rescued': stats.summary(inside),
                 'placement_active': stats.summary(p['package'])})


def _child(settings, json_path, log_path):
    """One process's share: raw samples to ``json_path``."""
    try:
        raw = harness.run(body(settings), list(HOSTS), log_path)
    except harness.HarnessError as e:
        print('api_overhead: FAILED: %s' % e)
        return 1
    with open(json_path, 'w') as f:
        json.dump(raw, f)
    return 0


def _merge(raws):
    merged = {}
    for key in ('detail', 'detail_wall', 'migrate', 'migrate_wall',
                'migrate_placement'):
        merged[key] = {}
        for raw in raws:
            for arm, values in raw[key].items():
                merged[key].setdefault(arm, []).extend(values)
    merged['detail_servers'] = raws[0]['detail_servers']
    sizes = {}
    for raw in raws:
        for arm, values in raw['detail_body_sizes'].items():
            sizes.setdefault(arm, set()).update(values)
    merged['detail_body_sizes'] = {k: sorted(v) for k, v in sizes.items()}
    merged['package'] = raws[0]['package']
    merged['paste'] = raws[0]['paste']
    return merged


def _per_process(raws):
    """The headline ratios of each process, to show they agree."""
    out = []
    for raw in raws:
        d, m = raw['detail'], raw['migrate']
        out.append({
            'detail': stats.median(d['package']) / stats.median(d['stock']),
            'migrate_active': (stats.median(m['package']) /
                               stats.median(m['stock'])),
            'migrate_rescued': (stats.median(m['package_rescued_2.105']) /
                                stats.median(m['package']))})
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='fewer repetitions (a smoke run)')
    parser.add_argument('--detail', type=int,
                        help='GET rounds (over all processes)')
    parser.add_argument('--migrate', type=int,
                        help='os-migrateLive rounds (over all processes)')
    parser.add_argument('--processes', type=int,
                        help='split the rounds over this many processes, '
                             'one after the other, each with its own hash '
                             'seed and, every other one, the package\'s app '
                             'loaded first (default %d, --quick 1)'
                             % DEFAULTS['processes'])
    parser.add_argument('--json', help='write the figures here')
    parser.add_argument('--log', help="nova's log (default: a temp file)")
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = dict(QUICK if args.quick else DEFAULTS)
    if args.child:
        settings = json.loads(args.child)
        return _child(settings, args.json, args.log)
    if args.detail:
        settings['detail'] = args.detail
    if args.migrate:
        settings['migrate'] = args.migrate
    if args.processes:
        settings['processes'] = args.processes
    log_path = args.log or os.path.join(
        tempfile.mkdtemp(prefix='nova-rescue-lm-bench-'), 'api.log')
    started = time.monotonic()
    procs = settings['processes']
    raws = []
    for k in range(procs):
        child = dict(settings, package_first=bool(k % 2))
        child['detail'] = max(1, settings['detail'] // procs)
        rounds = max(2, settings['migrate'] // procs)
        child['migrate'] = rounds + rounds % 2
        part = '%s.%d.json' % (log_path, k)
        env = dict(os.environ, PYTHONHASHSEED=str(k + 1))
        print('api_overhead: process %d of %d (%d GET rounds, %d '
              'os-migrateLive rounds, %s app loaded first)' % (
                  k + 1, procs, child['detail'], child['migrate'],
                  'package' if child['package_first'] else 'nova'),
              flush=True)
        rc = subprocess.call(
            [sys.executable, os.path.abspath(__file__), '--child',
             json.dumps(child), '--json', part, '--log',
             '%s.%d' % (log_path, k)], env=env)
        if rc != 0:
            print('api_overhead: FAILED (process %d; see %s.%d)'
                  % (k + 1, log_path, k))
            return 1
        with open(part) as f:
            raws.append(json.load(f))
    raw = _merge(raws)
    figs = figures(raw)
    per_process = _per_process(raws)
    for fig, key in zip(figs, ('detail', None, 'migrate_active',
                               'migrate_rescued')):
        if key:
            fig['details']['per_process'] = [p[key] for p in per_process]
            fig['spread'] += '. Per process: %s' % ', '.join(
                '%.3f' % p[key] for p in per_process)
    out = {'benchmark': 'api_overhead', 'settings': settings,
           'seconds': time.monotonic() - started, 'log': log_path,
           'package': raw['package'], 'paste': raw['paste'],
           'figures': figs, 'per_process': per_process,
           'raw': {'detail_cpu': raw['detail'], 'migrate_cpu': raw['migrate'],
                   'detail_wall': raw['detail_wall'],
                   'migrate_wall': raw['migrate_wall'],
                   'migrate_placement_cpu': raw['migrate_placement']}}
    report.emit(out, args.json)
    print('api_overhead: %.0fs; nova log %s.N' % (out['seconds'], log_path))
    return 0


if __name__ == '__main__':
    sys.exit(main())
