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

"""``nova-rescue-lm-drain``: live-migrate every movable server off a host.

Usage::

    nova-rescue-lm-drain HOST [--target HOST] [--max-parallel N]
                              [--dry-run] [--timeout SECONDS]
                              [--block-migration auto|true|false]

Every server on the compute host ``HOST`` (all projects) is looked at once:

* ACTIVE and PAUSED servers are live-migrated at microversion 2.68 (the
  request body ``{"host": ..., "block_migration": ...}`` without ``force``;
  2.25 when the API is older), never higher than the API offers;
* RESCUED servers are live-migrated at microversion 2.105, and only there:
  the API must advertise 2.105 in its version document, which it does when
  nova-rescue-lm is enabled in its api-paste.ini;
* every other server (SHUTOFF, ERROR, SHELVED, SUSPENDED, resizing, already
  migrating, ...) cannot be live-migrated; the reason is reported.

Before anything is sent, GET requests find the servers that cannot move and
why (:mod:`nova_rescue_lm.client.preflight`): states and tasks nova
refuses, flavors nova never live-migrates (accelerators, memory encryption,
vTPM without host secret security), shares, a source compute that is down,
a target that is down or disabled, and, for RESCUED servers, the
``CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED`` trait in placement: on the server's
compute node, on every node of ``--target``, or (no target) on some other
enabled, up host.  These are listed as "cannot move" with the reason and
nothing is sent for them.  If placement cannot be read (no endpoint, no
permission), the trait is left to the API, which answers 400 naming the
node; the server is then reported as "cannot move" with that message.

At most ``--max-parallel`` migrations (default 2) are in flight.  Each is
followed until the server leaves MIGRATING; it moved when its host changed,
otherwise it failed, and the reason is taken from the live-migration
instance action (or the server's fault).  A line is printed per event and a
table at the end.  The exit code is 0 only when every server left the host,
1 when anything was left behind (including servers that cannot move), 2 for
bad input (unknown host, no permission, API unreachable, no credentials).
``--dry-run`` prints the same plan and table and sends nothing but GET
requests.

Ctrl-C stops issuing new migrations and waits for those in flight (a second
Ctrl-C stops waiting; those are then reported as "unknown", still running).

Credentials are read the way the ``openstack`` client reads them (this
module uses openstacksdk's configuration loader, which python-openstackclient
is built on): ``--os-cloud NAME`` or ``OS_CLOUD`` picks an entry of
``clouds.yaml``; otherwise the ``OS_*`` environment variables of an openrc
file (``OS_AUTH_URL``, ``OS_USERNAME``, ``OS_PASSWORD``,
``OS_PROJECT_NAME``, ...) or the matching ``--os-*`` options are used, along
with ``--os-region-name`` and ``--os-interface``.  Without openstacksdk
installed, keystoneauth1's own argparse options (the same ``--os-*`` names
and ``OS_*`` variables, no clouds.yaml) are used.  Draining a host needs
admin credentials: listing compute services and other projects' servers and
naming a destination host are admin-only in nova's default policy, and so
is reading resource providers in placement.
keystoneauth's HTTP ``--timeout`` option is not offered (``--timeout`` is the
time one migration may take); each API request times out after 120 seconds
unless clouds.yaml sets ``api_timeout``.

The work is done by ``drain()`` on a ``ComputeClient`` (a keystoneauth
``Adapter`` with ``service_type='compute'``) and a placement adapter;
``main()`` only parses the command line, authenticates and maps errors to
exit codes.
"""

import argparse
import dataclasses
import os
import signal
import sys
import threading
import time
from urllib import parse

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading

from nova_rescue_lm.client import preflight
from nova_rescue_lm import microversions

#: Microversions whose os-migrateLive body is {host, block_migration}
#: (block_migration "auto" since 2.25, no "force" since 2.68), best first.
LIVE_MIGRATE_MICROVERSIONS = ('2.68', '2.25')
#: Instance action events carry "details" (the failure message) since 2.84.
ACTION_DETAILS_MICROVERSION = '2.84'

#: Seconds one API request may take.
HTTP_TIMEOUT = 120

EXIT_OK = 0
EXIT_LEFT_BEHIND = 1
EXIT_BAD_INPUT = 2

# results
WOULD_MOVE = 'would move'
MOVED = 'moved'
FAILED = 'failed'
CANNOT_MOVE = 'cannot move'
TIMED_OUT = 'timed out'
NOT_STARTED = 'not started'
UNKNOWN = 'unknown'
GONE = 'deleted'
MIGRATING = 'migrating'
#: Results after which the server is no longer on the host.
LEFT_HOST = (MOVED, GONE)

#: Why nova refuses to live-migrate a server in this vm_state.
REFUSED_STATES = {
    'stopped': 'nova live-migrates only running servers; cold-migrate it '
               '(openstack server migrate) or start it first',
    'suspended': 'nova cannot live-migrate a suspended server; resume it '
                 'or cold-migrate it',
    'error': 'nova cannot live-migrate a server in ERROR; fix and reset '
             'its state, or evacuate it if the host is down',
    'shelved': 'a shelved server is not live-migrated; unshelve or offload '
               'it',
    'shelved_offloaded': 'a shelved-offloaded server uses no host',
    'resized': 'confirm or revert the resize first',
    'soft-delete': 'the server is soft-deleted; restore or delete it',
    'building': 'the server is still building',
    'rescued': 'the compute API does not offer microversion 2.105: '
               'nova-rescue-lm is not enabled on this API, so nova refuses '
               'to live-migrate rescued servers',
}


class DrainError(Exception):
    """Bad input or an unusable API: a message for the operator, exit 2."""


def version_tuple(version):
    if isinstance(version, tuple):
        return version
    major, minor = str(version).split('.')
    return int(major), int(minor)


def version_str(version):
    return '%d.%d' % version_tuple(version)


def live_migrate_microversion(max_version):
    """The lowest microversion with the body we send, or None."""
    for version in LIVE_MIGRATE_MICROVERSIONS:
        if version_tuple(max_version) >= version_tuple(version):
            return version
    return None


def decide(server, max_version):
    """(microversion, reason) for a server: microversion None = cannot move.

    ``server`` is a server as GET /servers/detail shows it to an admin.
    """
    vm_state = server.get('OS-EXT-STS:vm_state')
    task_state = server.get('OS-EXT-STS:task_state')
    status = server.get('status')
    if status == 'MIGRATING' or task_state == 'migrating':
        return None, 'already migrating'
    if task_state:
        return None, 'task %s in progress' % task_state
    if vm_state in ('active', 'paused'):
        version = live_migrate_microversion(max_version)
        if version is None:
            return None, ('the compute API offers microversion %s only, '
                          'below %s' % (version_str(max_version),
                                        LIVE_MIGRATE_MICROVERSIONS[-1]))
        return version, ''
    if vm_state == 'rescued':
        if (version_tuple(max_version) >=
                version_tuple(microversions.RESCUED_LIVE_MIGRATION)):
            return microversions.RESCUED_LIVE_MIGRATION, ''
        return None, ('%s (its maximum microversion is %s)' % (
            REFUSED_STATES['rescued'], version_str(max_version)))
    return None, '%s: %s' % (
        status, REFUSED_STATES.get(vm_state,
                                   'nova cannot live-migrate a server in '
                                   'this state'))


@dataclasses.dataclass
class Entry:
    """One server of the host and what happened to it."""

    id: str
    name: str
    state: str
    source: str
    microversion: str = None
    target: str = None
    result: str = ''
    reason: str = ''
    dest: str = ''
    request_id: str = None
    started: float = None

    @property
    def movable(self):
        return self.microversion is not None


def exit_code(entries):
    """0 only if every server left the host (or, dry-run, would)."""
    wanted = LEFT_HOST + (WOULD_MOVE,)
    if all(entry.result in wanted for entry in entries):
        return EXIT_OK
    return EXIT_LEFT_BEHIND


def _to_column(entry):
    if entry.result in LEFT_HOST:
        return entry.dest or '-'
    if entry.result == WOULD_MOVE:
        return entry.target or '(scheduler)'
    return '-'


TABLE_HEADER = ('Server ID', 'Name', 'State', 'From', 'To', 'Result',
                'Reason')


def render_table(entries):
    """The final table, as text (no trailing newline)."""
    rows = [TABLE_HEADER] + [
        (e.id, e.name, e.state, e.source, _to_column(e), e.result,
         e.reason or '') for e in entries]
    widths = [max(len(str(row[i])) for row in rows)
              for i in range(len(TABLE_HEADER))]
    rule = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'

    def line(row):
        return '| ' + ' | '.join(str(cell).ljust(w)
                                 for cell, w in zip(row, widths)) + ' |'
    out = [rule, line(rows[0]), rule]
    out.extend(line(row) for row in rows[1:])
    out.append(rule)
    return '\n'.join(out)


def summary(entries):
    counts = {}
    for entry in entries:
        counts[entry.result] = counts.get(entry.result, 0) + 1
    return ', '.join('%d %s' % (n, result)
                     for result, n in sorted(counts.items()))


def _message(resp):
    """nova's error message out of an error response."""
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or '').strip() or 'HTTP %s' % resp.status_code
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, dict) and value.get('message'):
                return value['message']
    return str(body)


class ComputeClient:
    """The few compute API calls the drain needs, on a keystoneauth adapter.

    The adapter must have ``service_type='compute'`` (the microversion
    header is named after it); errors are returned, not raised.
    """

    def __init__(self, adapter):
        self.adapter = adapter
        self._max = None

    def max_microversion(self):
        if self._max is None:
            data = self.adapter.get_endpoint_data()
            if data is None or not data.max_microversion:
                raise DrainError(
                    'The compute API at %s publishes no version document '
                    'with a maximum microversion.' % (
                        data.url if data else self.adapter.endpoint_override))
            self._max = tuple(data.max_microversion)[:2]
        return self._max

    def request(self, method, url, microversion=None, body=None):
        kwargs = {'raise_exc': False}
        if microversion:
            kwargs['microversion'] = microversion
        if body is not None:
            kwargs['json'] = body
        return self.adapter.request(url, method, **kwargs)

    def get(self, url, microversion=None):
        return self.request('GET', url, microversion)


#: Errors after which the API may answer again: keep following migrations.
TRANSIENT = (ks_exc.ConnectionError, ks_exc.RequestTimeout)


class _Unreachable:
    """Stands for a response while the API cannot be reached."""

    status_code = 503

    def __init__(self, error):
        self.text = str(error)

    def json(self):
        raise ValueError(self.text)


class Printer:
    """One progress line per event."""

    def __init__(self, out):
        self.out = out

    def __call__(self, text, entry=None):
        # the operator's wall clock
        stamp = time.strftime('%H:%M:%S')
        if entry is not None:
            text = '%s (%s): %s' % (entry.name, entry.id, text)
        self.out.write('%s %s\n' % (stamp, text))
        self.out.flush()


def _check_status(resp, what):
    if resp.status_code == 403:
        raise DrainError(
            'Not allowed to %s (403: %s). Draining a host needs admin '
            'credentials.' % (what, _message(resp)))
    if resp.status_code >= 400:
        raise DrainError('Could not %s (%s: %s).' % (
            what, resp.status_code, _message(resp)))
    return resp.json()


def compute_service(client, host):
    """The nova-compute service of ``host``; DrainError when none."""
    resp = client.get('/os-services?binary=nova-compute&host=%s' %
                      parse.quote(host))
    services = _check_status(resp, 'list compute services')['services']
    services = [s for s in services if s.get('host') == host]
    if not services:
        raise DrainError(
            "No compute service on host '%s' (see: openstack compute "
            "service list --service nova-compute)." % host)
    return services[0]


def servers_on(client, host, microversion):
    """Every server of every project on ``host`` (follows pagination)."""
    query = '/servers/detail?all_tenants=1&host=%s' % parse.quote(host)
    servers, url = [], query
    while url:
        body = _check_status(client.get(url, microversion),
                             'list the servers of all projects')
        page = body.get('servers', [])
        servers.extend(page)
        url = None
        if any(link.get('rel') == 'next'
               for link in body.get('servers_links', [])) and page:
            url = '%s&marker=%s' % (query, page[-1]['id'])
    for server in servers:
        if 'OS-EXT-SRV-ATTR:host' not in server:
            raise DrainError(
                'The API does not show which host the servers are on '
                '(os_compute_api:os-extended-server-attributes): admin '
                'credentials are needed.')
    return [s for s in servers if s['OS-EXT-SRV-ATTR:host'] == host]


def _host_reason(host, source, target, dest):
    """Why no server can leave ``host`` at all, or None."""
    if source.get('state') == 'down':
        return ('the compute service on %s is down; live migration needs it '
                'running (evacuate the servers instead)' % host)
    if dest is not None:
        if dest.get('state') == 'down':
            return 'the compute service on the target %s is down' % target
        if dest.get('status') == 'disabled':
            return ('the compute service on the target %s is disabled; the '
                    'scheduler does not place servers there' % target)
    return None


def plan(client, host, target=None, say=None, placement=None):
    """Check the input and decide for every server on ``host``.

    Nothing but GET requests: which servers would move, and for each one
    that cannot, why (see :mod:`nova_rescue_lm.client.preflight`).
    ``placement`` is a keystoneauth adapter on the placement API; without
    it, or when placement cannot be read, RESCUED servers are checked by
    the API only when their migration is requested.
    """
    say = say or (lambda *a, **k: None)
    source = compute_service(client, host)
    dest = None
    if target is not None:
        if target == host:
            raise DrainError('--target is the host being drained.')
        dest = compute_service(client, target)
    if source.get('status') != 'disabled':
        say('note: %s is enabled, the scheduler may place new servers on it '
            '(openstack compute service set --disable %s nova-compute)' % (
                host, host))
    max_version = client.max_microversion()
    listing = live_migrate_microversion(max_version) or '2.1'
    everywhere = _host_reason(host, source, target, dest)
    entries, servers = [], {}
    for server in sorted(servers_on(client, host, listing),
                         key=lambda s: (s.get('name') or '', s['id'])):
        servers[server['id']] = server
        microversion, reason = decide(server, max_version)
        if microversion is not None:
            reason = (everywhere or preflight.flavor_blocker(server) or
                      preflight.share_blocker(client, server['id'],
                                              max_version) or '')
            if reason:
                microversion = None
        entries.append(Entry(
            id=server['id'], name=server.get('name') or '',
            state=server.get('status', ''), source=host,
            microversion=microversion, target=target, reason=reason))
    rescued = [e for e in entries
               if e.microversion == microversions.RESCUED_LIVE_MIGRATION]
    if rescued:
        check_rescued(client, placement, host, target, rescued, servers, say)
    for entry in entries:
        entry.result = WOULD_MOVE if entry.movable else CANNOT_MOVE
    return entries


def check_rescued(client, placement, host, target, entries, servers, say):
    """Mark the RESCUED servers the trait keeps in place as cannot move."""
    view, why = preflight.Capability.read(client, placement)
    if view is None:
        say('note: the %s trait could not be read (%s); the API checks it '
            'when a rescued server\'s migration is requested' % (
                preflight.TRAIT, why))
        for entry in entries:
            entry.reason = 'capability not checked: %s' % why
        return
    shared = (view.target_reason(target) if target
              else view.no_destination_reason(host))
    for entry in entries:
        node = servers[entry.id].get('OS-EXT-SRV-ATTR:hypervisor_hostname')
        reason = view.source_reason(host, node) or shared
        if reason:
            entry.microversion, entry.reason = None, reason


def print_plan(entries, say):
    for entry in entries:
        if entry.movable:
            say('%s: live-migrate at microversion %s to %s' % (
                entry.state, entry.microversion,
                entry.target or 'a host the scheduler picks'), entry)
        else:
            say('cannot move: %s' % entry.reason, entry)


def start(client, entry, block_migration, say, clock=time.monotonic):
    """POST os-migrateLive; True when the migration runs."""
    body = {'os-migrateLive': {'host': entry.target,
                               'block_migration': block_migration}}
    try:
        resp = client.request('POST', '/servers/%s/action' % entry.id,
                              entry.microversion, body)
    except TRANSIENT as e:
        entry.result = UNKNOWN
        entry.reason = ('the migration request may not have reached the '
                        'API (%s); check the server' % e)
        say('%s: %s' % (entry.result, entry.reason), entry)
        return False
    if resp.status_code == 202:
        entry.result, entry.reason = MIGRATING, ''
        entry.started = clock()
        entry.request_id = resp.headers.get('x-openstack-request-id')
        say('migration started (microversion %s)' % entry.microversion,
            entry)
        return True
    message = _message(resp)
    if resp.status_code == 404:
        entry.result, entry.reason = GONE, 'the server no longer exists'
    elif resp.status_code in (400, 409):
        entry.result, entry.reason = CANNOT_MOVE, message
    else:
        entry.result, entry.reason = FAILED, '%s: %s' % (
            resp.status_code, message)
    say('%s: %s' % (entry.result, entry.reason), entry)
    return False


def _event_detail(event):
    """The message of a failed instance action event."""
    if event.get('details'):
        return event['details']
    lines = (event.get('traceback') or '').strip().splitlines()
    return lines[-1].strip() if lines else 'error'


def live_migration_action(client, entry, version):
    """The instance action of our request (else the newest live-migration)."""
    resp = client.get('/servers/%s/os-instance-actions' % entry.id, version)
    if resp.status_code != 200:
        return None
    actions = [a for a in resp.json().get('instanceActions', [])
               if a.get('action') == 'live-migration']
    for action in actions:
        if entry.request_id and action.get('request_id') == entry.request_id:
            return action
    return actions[0] if actions else None


def failure_reason(client, entry, server):
    """Why the server is still on its host, as nova recorded it.

    The failed event of the live-migration instance action (its details),
    else the server's fault, else the migration record's status.
    """
    version = version_str(min(version_tuple(ACTION_DETAILS_MICROVERSION),
                              client.max_microversion()))
    try:
        return _failure_reason(client, entry, server, version)
    except TRANSIENT as e:
        return 'still on %s (the API could not be asked why: %s)' % (
            entry.source or 'its host', e)


def _failure_reason(client, entry, server, version):
    action = live_migration_action(client, entry, version)
    if action is not None:
        resp = client.get('/servers/%s/os-instance-actions/%s' % (
            entry.id, action['request_id']), version)
        if resp.status_code == 200:
            events = resp.json()['instanceAction'].get('events') or []
            for event in reversed(events):
                if event.get('result') == 'Error':
                    return '%s: %s' % (event['event'], _event_detail(event))
    fault = server.get('fault') or {}
    if fault.get('message'):
        return fault['message']
    resp = client.get('/os-migrations?instance_uuid=%s&migration_type='
                      'live-migration' % entry.id, version)
    if resp.status_code == 200:
        migrations = sorted(resp.json().get('migrations', []),
                            key=lambda m: m.get('id', 0))
        if migrations:
            migration = migrations[-1]
            return ('live migration %s %s; see nova-compute\'s log on %s '
                    'and %s' % (migration['id'], migration['status'],
                                migration.get('source_compute') or
                                entry.source,
                                migration.get('dest_compute') or '?'))
    return 'still on %s (status %s)' % (entry.source or 'its host',
                                        server.get('status'))


def poll(client, entry, timeout, say, clock=time.monotonic):
    """True when the migration of ``entry`` is over (result set)."""
    try:
        resp = client.get('/servers/%s' % entry.id,
                          LIVE_MIGRATE_MICROVERSIONS[-1])
    except TRANSIENT as e:
        resp = _Unreachable(e)
    if resp.status_code == 404:
        entry.result, entry.reason = GONE, 'deleted while migrating'
        say(entry.reason, entry)
        return True
    if resp.status_code != 200:
        # Keep polling: a transient API error must not lose a migration.
        if timeout and clock() - entry.started > timeout:
            entry.result = UNKNOWN
            entry.reason = 'API answered %s: %s' % (resp.status_code,
                                                    _message(resp))
            say('%s: %s' % (entry.result, entry.reason), entry)
            return True
        return False
    server = resp.json()['server']
    if (server.get('status') == 'MIGRATING' or
            server.get('OS-EXT-STS:task_state') == 'migrating'):
        if timeout and clock() - entry.started > timeout:
            entry.result = TIMED_OUT
            entry.reason = ('still migrating after %ds; not waited for '
                            'any longer' % timeout)
            say('%s: %s' % (entry.result, entry.reason), entry)
            return True
        return False
    host = server.get('OS-EXT-SRV-ATTR:host')
    entry.state = server.get('status', entry.state)
    if host and host != entry.source:
        entry.result, entry.dest = MOVED, host
        say('moved to %s (%s)' % (host, entry.state), entry)
    else:
        entry.result = FAILED
        entry.reason = failure_reason(client, entry, server)
        say('failed: %s' % entry.reason, entry)
    return True


def execute(client, entries, max_parallel=2, timeout=None,
            block_migration='auto', say=None, stop=None, poll_interval=2.0,
            sleep=time.sleep, clock=time.monotonic):
    """Migrate the movable entries, at most ``max_parallel`` at a time.

    ``stop`` (a threading.Event) set: no new migration is started, those in
    flight are still followed.  KeyboardInterrupt: stop following; those in
    flight are reported as unknown.
    """
    say = say or (lambda *a, **k: None)
    stop = stop or threading.Event()
    queue = [e for e in entries if e.movable]
    in_flight = []
    current = None
    try:
        while queue or in_flight:
            while queue and len(in_flight) < max_parallel and \
                    not stop.is_set():
                current = queue.pop(0)
                if start(client, current, block_migration, say, clock):
                    in_flight.append(current)
                current = None
            if stop.is_set() and queue:
                for entry in queue:
                    entry.result = NOT_STARTED
                    entry.reason = 'interrupted before it was started'
                queue = []
            for entry in list(in_flight):
                if poll(client, entry, timeout, say, clock):
                    in_flight.remove(entry)
            if in_flight:
                sleep(poll_interval)
    except KeyboardInterrupt:
        if current is not None:
            current.result = UNKNOWN
            current.reason = ('interrupted while the migration request was '
                              'sent; check the server')
        for entry in in_flight:
            entry.result = UNKNOWN
            entry.reason = 'still migrating; not waited for (interrupted)'
        for entry in queue:
            entry.result = NOT_STARTED
            entry.reason = 'interrupted before it was started'
    return entries


def drain(client, host, target=None, max_parallel=2, dry_run=False,
          timeout=None, block_migration='auto', out=None, stop=None,
          poll_interval=2.0, sleep=time.sleep, placement=None):
    """The command without its argument parsing and authentication.

    Returns (exit code, entries); raises DrainError for bad input.
    """
    say = Printer(out or sys.stdout)
    entries = plan(client, host, target, say, placement)
    say('%d server(s) on %s' % (len(entries), host))
    print_plan(entries, say)
    if not dry_run:
        execute(client, entries, max_parallel, timeout, block_migration,
                say, stop, poll_interval, sleep)
    say.out.write(render_table(entries) + '\n')
    code = exit_code(entries)
    if entries:
        say.out.write('%s%s\n' % ('Dry run, nothing was sent: '
                                  if dry_run else '', summary(entries)))
    if code != EXIT_OK:
        say.out.write('Servers are left on %s.\n' % host)
    return code, entries


# command line

def _block_migration(value):
    value = value.lower()
    if value not in ('auto', 'true', 'false'):
        raise argparse.ArgumentTypeError('auto, true or false')
    return {'auto': 'auto', 'true': True, 'false': False}[value]


def _positive_int(value):
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError('must be 1 or more')
    return number


def _sdk_config():
    try:
        from openstack import config as sdk_config
    except ImportError:
        return None
    return sdk_config.OpenStackConfig()


def build_parser(argv, sdk=None):
    # The authentication options come first; ours are added after them and
    # win where names clash (keystoneauth's session has an HTTP --timeout:
    # here --timeout is the time one migration may take).
    parser = argparse.ArgumentParser(
        prog='nova-rescue-lm-drain', conflict_handler='resolve',
        description='Live-migrate every ACTIVE, PAUSED and RESCUED server '
                    'off a compute host.')
    if sdk is not None:
        sdk.register_argparse_arguments(
            parser, argv, service_keys=['compute', 'placement'])
    else:
        ks_loading.register_session_argparse_arguments(parser)
        ks_loading.register_auth_argparse_arguments(parser, argv,
                                                    default='password')
        parser.add_argument('--os-region-name', metavar='REGION',
                            default=_env('OS_REGION_NAME'))
        parser.add_argument('--os-interface', metavar='INTERFACE',
                            default=_env('OS_INTERFACE') or 'public')
    parser.add_argument('host', help='compute host to drain')
    parser.add_argument('--target', metavar='HOST',
                        help='destination host (default: the scheduler '
                             'picks one per server)')
    parser.add_argument('--max-parallel', type=_positive_int, default=2,
                        metavar='N',
                        help='migrations in flight at once (default 2)')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the plan; send no migration')
    parser.add_argument('--timeout', type=_positive_int, default=3600,
                        metavar='SECONDS', dest='migration_timeout',
                        help='give up waiting for one migration after this '
                             'long (default 3600; it keeps running)')
    parser.add_argument('--block-migration', type=_block_migration,
                        default='auto', metavar='auto|true|false',
                        help='block_migration of each request (default '
                             'auto)')
    return parser


def docs_parser():
    """The command's parser as the documentation renders it."""
    return build_parser([])


def _env(name):
    return os.environ.get(name)


def make_adapters(args, sdk=None):
    """Keystoneauth adapters on the compute and placement endpoints.

    Both come from the catalog (or ``--os-compute-endpoint-override`` /
    ``--os-placement-endpoint-override``). Every request times out after
    HTTP_TIMEOUT seconds unless clouds.yaml sets ``api_timeout``.
    """
    args.timeout = None  # keystoneauth's HTTP timeout option is not offered
    adapters = []
    if sdk is not None:
        cloud = sdk.get_one(argparse=args)
        session = cloud.get_session()
        for service in ('compute', 'placement'):
            adapters.append(ks_adapter.Adapter(
                session=session, service_type=service,
                interface=cloud.get_interface(service),
                region_name=cloud.get_region_name(service),
                endpoint_override=cloud.get_endpoint(service)))
    else:
        auth = ks_loading.load_auth_from_argparse_arguments(args)
        session = ks_loading.load_session_from_argparse_arguments(
            args, auth=auth)
        for service in ('compute', 'placement'):
            adapters.append(ks_adapter.Adapter(
                session=session, service_type=service,
                interface=args.os_interface,
                region_name=args.os_region_name))
    if session.timeout is None:
        session.timeout = HTTP_TIMEOUT
    return tuple(adapters)


def _interrupt_handler(stop, out):
    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt()
        stop.set()
        out.write('Interrupted: no new migrations are started; waiting for '
                  'those in flight (Ctrl-C again to stop waiting).\n')
        out.flush()
    return handler


def main(argv=None, out=None, err=None):
    argv = sys.argv[1:] if argv is None else argv
    out, err = out or sys.stdout, err or sys.stderr
    try:
        sdk = _sdk_config()
    except Exception as e:  # a broken clouds.yaml
        err.write('nova-rescue-lm-drain: cannot read the cloud '
                  'configuration: %s\n' % e)
        return EXIT_BAD_INPUT
    args = build_parser(argv, sdk).parse_args(argv)
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, _interrupt_handler(stop, out))
    try:
        compute, placement = make_adapters(args, sdk)
        code, _entries = drain(
            ComputeClient(compute), args.host, target=args.target,
            max_parallel=args.max_parallel, dry_run=args.dry_run,
            timeout=args.migration_timeout,
            block_migration=args.block_migration, out=out, stop=stop,
            placement=placement)
        return code
    except DrainError as e:
        err.write('nova-rescue-lm-drain: %s\n' % e)
    except KeyboardInterrupt:
        # Only before any migration was sent: execute() handles its own.
        err.write('nova-rescue-lm-drain: interrupted; no migration was '
                  'sent.\n')
    except (ks_exc.MissingRequiredOptions, ks_exc.MissingAuthPlugin) as e:
        err.write('nova-rescue-lm-drain: no credentials (%s): use '
                  '--os-cloud/OS_CLOUD with clouds.yaml, or source an '
                  'openrc file (OS_AUTH_URL, OS_USERNAME, ...).\n' % e)
    except ks_exc.Unauthorized as e:
        err.write('nova-rescue-lm-drain: authentication failed: %s\n' % e)
    except ks_exc.EndpointNotFound as e:
        err.write('nova-rescue-lm-drain: no compute endpoint: %s\n' % e)
    except ks_exc.ConnectFailure as e:
        err.write('nova-rescue-lm-drain: the API cannot be reached: %s\n'
                  % e)
    except ks_exc.ClientException as e:
        err.write('nova-rescue-lm-drain: %s: %s\n' % (type(e).__name__, e))
    except Exception as e:
        if type(e).__module__.startswith('openstack'):
            # openstacksdk's configuration errors (no cloud, no auth_url).
            err.write('nova-rescue-lm-drain: %s\n' % e)
        else:
            raise
    finally:
        signal.signal(signal.SIGINT, previous)
    return EXIT_BAD_INPUT


if __name__ == '__main__':
    sys.exit(main())
