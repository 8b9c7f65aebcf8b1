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

"""Host drain time against the number of servers, rescued vs active.

``nova-rescue-lm-drain``'s core (``nova_rescue_lm.drain.drain``, on a
keystoneauth session as the command builds it) drains a compute host of N
servers (N = 1, 5, 10, 20) in nova's functional harness: nova's API,
conductor, scheduler, placement and computes running the package's driver,
``rescue_lm.libvirt.LibvirtDriver``, on nova's fake libvirt connection.
That driver, not nova's ``fake.FakeDriver``, because only a compute that
reports the capability trait can take a rescued server; the fake libvirt
connection makes each migration cost the same fixed hypervisor time (nova's
migration monitor polls every 0.5 s), so what grows with N is nova's and
the package's own work.

Three kinds of server, each on its own host pair: active (bench-a1/a2),
rescued (bench-r1/r2), and rescued with an ephemeral disk (bench-e1/e2: the
first flavor with a 1 GB ephemeral disk added, whose disks a rescued
server's migration must bring along too). For each N, servers are added on
the first host of the pair (booted, and rescued for the rescued kinds)
until it holds N; the host is then drained to the other one (``--target``)
and back, which gives two samples; rounds are repeated, the kinds
interleaved (active, rescued, ephemeral, then back in the reverse order).
The command's own defaults apply (2 migrations in flight) except its poll
interval, 0.2 s instead of 2 s, so that polling does not round every time
up to 2 s.
"""

import argparse
import io
import os
import sys
import tempfile
import time

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import report  # noqa: E402
import stats  # noqa: E402

SIZES = (1, 5, 10, 20)
PAIRS = {'active': ('bench-a1', 'bench-a2'),
         'rescued': ('bench-r1', 'bench-r2'),
         'rescued_ephemeral': ('bench-e1', 'bench-e2')}
#: How each kind is named in the figures.
LABELS = {'active': 'active', 'rescued': 'rescued',
          'rescued_ephemeral': 'rescued with an ephemeral disk'}
EPHEMERAL_GB = 1
POLL_INTERVAL = 0.2
DEFAULTS = {'rounds': 2, 'sizes': SIZES}
QUICK = {'rounds': 1, 'sizes': SIZES}


def _client(case):
    from keystoneauth1 import adapter as ks_adapter
    from keystoneauth1 import noauth
    from keystoneauth1 import session as ks_session
    from nova_rescue_lm.drain import compute_api

    session = ks_session.Session(
        auth=noauth.NoAuth(endpoint=case.api.base_url))
    adapter = ks_adapter.Adapter(
        session=session, service_type='compute',
        additional_headers={
            'X-Auth-User': 'admin', 'X-User-Id': 'admin',
            'X-Auth-Project-Id': case.api.project_id,
            'X-Roles': 'reader,member,admin'})
    return compute_api.ComputeClient(adapter)


def _drain(case, source, target, expected):
    from nova_rescue_lm import drain
    from nova_rescue_lm.drain import reporting
    from nova_rescue_lm.drain import results

    out = io.StringIO()
    started = time.monotonic()
    code, entries = drain.drain(_client(case), source, target=target,
                                timeout=300, out=out,
                                poll_interval=POLL_INTERVAL)
    seconds = time.monotonic() - started
    moved = [e for e in entries if e.result == results.MOVED]
    if code != reporting.EXIT_OK or len(moved) != expected:
        raise AssertionError('drain of %s moved %d of %d (exit %s):\n%s'
                             % (source, len(moved), expected, code,
                                out.getvalue()[-2000:]))
    return seconds


def _ephemeral_flavor(case):
    """The first flavor (the others' servers have it) plus an ephemeral
    disk.
    """
    base = case.api.get_flavor(case.api.get_flavors()[0]['id'])
    return case._create_flavor(
        name='bench-ephemeral', memory_mb=base['ram'], vcpu=base['vcpus'],
        disk=base['disk'], ephemeral=EPHEMERAL_GB, swap=0)


def _grow(case, kind, host, have, want, flavors):
    for i in range(have, want):
        server = case._create_server(name='%s-%d' % (kind, i), host=host,
                                     networks='none',
                                     flavor_id=flavors.get(kind))
        if kind.startswith('rescued'):
            case._rescue_server(server)


def _order():
    """One round: every kind drained forward, then back in reverse."""
    kinds = list(PAIRS)
    return ([(kind, True) for kind in kinds] +
            [(kind, False) for kind in reversed(kinds)])


def body(settings):
    def run(case):
        samples = {kind: {} for kind in PAIRS}
        flavors = {'rescued_ephemeral': _ephemeral_flavor(case)}
        have = 0
        for n in settings['sizes']:
            for kind, (first, _second) in PAIRS.items():
                _grow(case, kind, first, have, n, flavors)
            have = n
            for _round in range(settings['rounds']):
                for kind, forward in _order():
                    a, b = PAIRS[kind]
                    source, target = (a, b) if forward else (b, a)
                    samples[kind].setdefault(n, []).append(
                        _drain(case, source, target, n))
        statuses = {}
        for server in case.api.get_servers():
            statuses[server['status']] = statuses.get(server['status'],
                                                      0) + 1
        return {'samples': samples, 'statuses': statuses,
                'package': harness.package_location()}
    return run


def linearity(sizes, medians):
    fit = stats.linear_fit(sizes, medians)
    return dict(fit, t_max_over_t_min=medians[-1] / medians[0],
                n_max_over_n_min=sizes[-1] / sizes[0])


def figures(raw, sizes, label='harness, fake libvirt', prefix='drain',
            r2_goal=0.98, ratio_goal=1.1, strict_ratio=True):
    """Linearity per kind, rescued / active, and (when measured) what the
    ephemeral disk adds.

    Linear: R squared of a least-squares line through the medians at least
    ``r2_goal`` and, with ``strict_ratio``, t(N max) / t(N min) no more
    than N max / N min (time does not grow faster than N).
    """
    samples = raw['samples']
    kinds = [kind for kind in PAIRS if kind in samples]
    medians = {kind: [stats.median(samples[kind][n]) for n in sizes]
               for kind in kinds}
    figs = []
    slopes = {}
    for kind in kinds:
        lin = linearity(sizes, medians[kind])
        slopes[kind] = lin['slope']
        per_n = ', '.join('N=%d %.2f s' % (n, t)
                          for n, t in zip(sizes, medians[kind]))
        figs.append(report.figure(
            '%s.linear_%s' % (prefix, kind),
            'Drain (%s): total time vs N, %s servers, linear fit' % (
                label, LABELS[kind]),
            lin['r2'], unit='R2',
            goal=('R2 >= %g, t(%d)/t(%d) <= %d' % (
                r2_goal, sizes[-1], sizes[0], sizes[-1] // sizes[0])
                if strict_ratio else 'R2 >= %g' % r2_goal),
            met=(lin['r2'] >= r2_goal and
                 (not strict_ratio or
                  lin['t_max_over_t_min'] <= lin['n_max_over_n_min'])),
            spread='%s; slope %.2f s/server, intercept %.2f s; t(%d)/t(%d) '
                   '= %.1f' % (per_n, lin['slope'], lin['intercept'],
                               sizes[-1], sizes[0],
                               lin['t_max_over_t_min']),
            details=dict(lin, medians=dict(zip(sizes, medians[kind])),
                         samples={n: samples[kind][n] for n in sizes})))
    figs.append(_ratio(prefix, label, sizes, medians, 'rescued', 'active',
                       ratio_goal, slopes))
    if 'rescued_ephemeral' in kinds:
        figs.append(_ratio(prefix, label, sizes, medians,
                           'rescued_ephemeral', 'rescued', None, slopes))
    return figs


def _ratio(prefix, label, sizes, medians, num, den, goal, slopes):
    """num / den, total time summed over N (context when no goal)."""
    ratios = [a / b for a, b in zip(medians[num], medians[den])]
    return report.figure(
        '%s.%s_vs_%s' % (prefix, num, den),
        'Drain (%s): %s / %s, total time summed over N = %s'
        % (label, LABELS[num], LABELS[den],
           ', '.join(str(n) for n in sizes)),
        sum(medians[num]) / sum(medians[den]), limit=goal,
        spread='per N: %s; slope ratio %.3f' % (
            ', '.join('N=%d %.3f' % (n, r) for n, r in zip(sizes, ratios)),
            slopes[num] / slopes[den]),
        details={'per_n': dict(zip(sizes, ratios))})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='one round (two drains) per N and kind')
    parser.add_argument('--rounds', type=int,
                        help='rounds per N (each two drains per kind)')
    parser.add_argument('--json', help='write the figures here')
    parser.add_argument('--log', help="nova's log (default: a temp file)")
    args = parser.parse_args(argv)
    settings = dict(QUICK if args.quick else DEFAULTS)
    if args.rounds:
        settings['rounds'] = args.rounds
    log_path = args.log or os.path.join(
        tempfile.mkdtemp(prefix='nova-rescue-lm-bench-'), 'drain.log')
    hosts = [h for pair in PAIRS.values() for h in pair]
    started = time.monotonic()
    try:
        raw = harness.run(body(settings), hosts, log_path)
    except harness.HarnessError as e:
        print('drain_scale: FAILED: %s' % e)
        return 1
    sizes = list(settings['sizes'])
    figs = figures(raw, sizes)
    out = {'benchmark': 'drain_scale', 'settings': settings,
           'seconds': time.monotonic() - started, 'log': log_path,
           'package': raw['package'], 'figures': figs,
           'raw': raw['samples'], 'server_statuses': raw['statuses']}
    report.emit(out, args.json)
    print('drain_scale: %.0fs; nova log %s' % (out['seconds'], log_path))
    return 0


if __name__ == '__main__':
    sys.exit(main())
