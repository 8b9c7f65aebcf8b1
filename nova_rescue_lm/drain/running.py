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

"""Running planned migrations: start, follow, and say why one failed.

At most ``max_parallel`` migrations are in flight. Each is followed until
the server leaves MIGRATING; it moved when its host changed, otherwise it
failed, and the reason is taken from the live-migration instance action (or
the server's fault, or the migration record). A stop request starts nothing
new and follows what is in flight; KeyboardInterrupt stops following. One
loop in the caller's thread, polling: nothing here waits on the API longer
than one request, so an interrupt is always seen.

An evacuation (an entry with ``evacuate`` set: its host's nova-compute is
down) is started with ``evacuate`` instead and followed until the server is
on another host with no task left (:func:`poll_evacuation`), or in ERROR,
or its evacuation record failed; the reason then comes from the evacuate
instance action, the fault or that record.

``start``, ``poll`` and the failure helpers serve ``openstack rescued
server migrate`` too, for its one server.
"""

import threading
import time

from nova_rescue_lm.drain import compute_api
from nova_rescue_lm.drain import results

#: What nova names the instance action and the migration record of each kind
#: of move, and the word for it in the operator's messages.
LIVE_MIGRATION = ('live-migration', 'live-migration', 'migration')
EVACUATION = ('evacuate', 'evacuation', 'evacuation')

#: Statuses of an evacuation record that failed.
EVACUATION_FAILED = ('error', 'failed')


def _kind(entry):
    return EVACUATION if entry.evacuate else LIVE_MIGRATION


def _request_body(entry, block_migration):
    if entry.evacuate:
        # No "force" and no "onSharedStorage" (2.68 on); host optional.
        return {'evacuate': ({'host': entry.target} if entry.target
                             else {})}
    return {'os-migrateLive': {'host': entry.target,
                               'block_migration': block_migration}}


def start(client, entry, block_migration, say, clock=time.monotonic):
    """POST os-migrateLive (or evacuate); True when the move runs.

    ``block_migration`` is ignored for an evacuation.
    """
    body = _request_body(entry, block_migration)
    noun = _kind(entry)[2]
    try:
        resp = client.request('POST', '/servers/%s/action' % entry.id,
                              entry.microversion, body)
    except compute_api.TRANSIENT as e:
        entry.result = results.UNKNOWN
        entry.reason = ('the %s request may not have reached the '
                        'API (%s); check the server' % (noun, e))
        say('%s: %s' % (entry.result, entry.reason), entry)
        return False
    # os-migrateLive answers 202, evacuate 200
    if resp.status_code == 202 or (entry.evacuate and
                                   resp.status_code == 200):
        entry.result, entry.reason = results.MIGRATING, ''
        entry.started = clock()
        entry.request_id = resp.headers.get('x-openstack-request-id')
        say('%s started (microversion %s)' % (noun, entry.microversion),
            entry)
        return True
    message = compute_api.error_message(resp)
    if resp.status_code == 404:
        entry.result = results.GONE
        entry.reason = 'the server no longer exists'
    elif resp.status_code in (400, 409):
        entry.result, entry.reason = results.CANNOT_MOVE, message
    else:
        entry.result, entry.reason = results.FAILED, '%s: %s' % (
            resp.status_code, message)
    say('%s: %s' % (entry.result, entry.reason), entry)
    return False


def _event_detail(event):
    """The message of a failed instance action event."""
    if event.get('details'):
        return event['details']
    lines = (event.get('traceback') or '').strip().splitlines()
    return lines[-1].strip() if lines else 'error'


def instance_action(client, entry, version):
    """The instance action of our request (else the newest of its kind)."""
    resp = client.get('/servers/%s/os-instance-actions' % entry.id, version)
    if resp.status_code != 200:
        return None
    actions = [a for a in resp.json().get('instanceActions', [])
               if a.get('action') == _kind(entry)[0]]
    for action in actions:
        if entry.request_id and action.get('request_id') == entry.request_id:
            return action
    return actions[0] if actions else None


def _details_version(client):
    """The microversion at which instance action events say why."""
    return compute_api.version_str(min(
        compute_api.version_tuple(compute_api.ACTION_DETAILS_MICROVERSION),
        client.max_microversion()))


def failure_reason(client, entry, server):
    """Why the server is still on its host, as nova recorded it.

    The failed event of the live-migration (or evacuate) instance action
    (its details), else the server's fault, else the migration record's
    status.
    """
    version = _details_version(client)
    try:
        return _failure_reason(client, entry, server, version)
    except compute_api.TRANSIENT as e:
        return 'still on %s (the API could not be asked why: %s)' % (
            entry.source or 'its host', e)


def migration_record(client, entry, version):
    """The newest migration record of the entry's kind, or None.

    An evacuation's record exists before nova answers the request, and no
    other can start while the server has a task: the newest is ours.
    """
    resp = client.get('/os-migrations?instance_uuid=%s&migration_type=%s'
                      % (entry.id, _kind(entry)[1]), version)
    if resp.status_code != 200:
        return None
    migrations = sorted(resp.json().get('migrations', []),
                        key=lambda m: m.get('id', 0))
    return migrations[-1] if migrations else None


def _failure_reason(client, entry, server, version):
    action = instance_action(client, entry, version)
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
    migration = migration_record(client, entry, version)
    if migration is not None:
        if entry.evacuate:
            return ('evacuation %s %s; see nova-conductor\'s log, and '
                    'nova-compute\'s on %s' % (
                        migration['id'], migration['status'],
                        migration.get('dest_compute') or
                        'the host it was sent to'))
        return ('live migration %s %s; see nova-compute\'s log on %s '
                'and %s' % (migration['id'], migration['status'],
                            migration.get('source_compute') or
                            entry.source,
                            migration.get('dest_compute') or '?'))
    return 'still on %s (status %s)' % (entry.source or 'its host',
                                        server.get('status'))


def _get_server(client, entry):
    try:
        return client.get('/servers/%s' % entry.id,
                          compute_api.LIVE_MIGRATE_MICROVERSIONS[-1])
    except compute_api.TRANSIENT as e:
        return compute_api.Unreachable(e)


def _not_answered(entry, resp, timeout, say, clock):
    """The server could not be read: True when no longer waited for."""
    # Keep polling: a transient API error must not lose a migration.
    if timeout and clock() - entry.started > timeout:
        entry.result = results.UNKNOWN
        entry.reason = 'API answered %s: %s' % (
            resp.status_code, compute_api.error_message(resp))
        say('%s: %s' % (entry.result, entry.reason), entry)
        return True
    return False


def poll(client, entry, timeout, say, clock=time.monotonic):
    """True when the migration of ``entry`` is over (result set)."""
    if entry.evacuate:
        return poll_evacuation(client, entry, timeout, say, clock)
    resp = _get_server(client, entry)
    if resp.status_code == 404:
        entry.result, entry.reason = results.GONE, 'deleted while migrating'
        say(entry.reason, entry)
        return True
    if resp.status_code != 200:
        return _not_answered(entry, resp, timeout, say, clock)
    server = resp.json()['server']
    if (server.get('status') == 'MIGRATING' or
            server.get('OS-EXT-STS:task_state') == 'migrating'):
        if timeout and clock() - entry.started > timeout:
            entry.result = results.TIMED_OUT
            entry.reason = ('still migrating after %ds; not waited for '
                            'any longer' % timeout)
            say('%s: %s' % (entry.result, entry.reason), entry)
            return True
        return False
    host = server.get('OS-EXT-SRV-ATTR:host')
    entry.state = server.get('status', entry.state)
    if host and host != entry.source:
        entry.result, entry.dest = results.MOVED, host
        say('moved to %s (%s)' % (host, entry.state), entry)
    else:
        entry.result = results.FAILED
        entry.reason = failure_reason(client, entry, server)
        say('failed: %s' % entry.reason, entry)
    return True


def poll_evacuation(client, entry, timeout, say, clock=time.monotonic):
    """True when the evacuation of ``entry`` is over (result set).

    nova's destination moves the server's host last, once the server is
    rebuilt and, from microversion 2.95 on (2.106 for a rescued server),
    stopped: so the evacuation is over when the server is on another host
    with no task (SHUTOFF; ACTIVE for a server evacuated from ERROR, which
    nova does not stop). It failed when the server is in ERROR with no task
    (a server evacuated from ERROR keeps that status while its task runs)
    or its evacuation record failed; until one of these, it is under way.
    """
    resp = _get_server(client, entry)
    if resp.status_code == 404:
        entry.result, entry.reason = results.GONE, 'deleted while evacuating'
        say(entry.reason, entry)
        return True
    if resp.status_code != 200:
        return _not_answered(entry, resp, timeout, say, clock)
    server = resp.json()['server']
    entry.state = server.get('status', entry.state)
    host = server.get('OS-EXT-SRV-ATTR:host')
    if not server.get('OS-EXT-STS:task_state'):
        if host and host != entry.source:
            entry.result, entry.dest = results.MOVED, host
            say('evacuated to %s (%s)' % (host, entry.state), entry)
            return True
        if entry.state == 'ERROR':
            return _evacuation_failed(client, entry, server, say)
    # Under way: rebuilding, stopping, or rebuilt on the destination, which
    # has yet to take the server over.
    record = _evacuation_record(client, entry)
    if record is not None and record.get('status') in EVACUATION_FAILED:
        return _evacuation_failed(client, entry, server, say)
    if timeout and clock() - entry.started > timeout:
        entry.result = results.TIMED_OUT
        entry.reason = ('still evacuating after %ds; not waited for any '
                        'longer' % timeout)
        say('%s: %s' % (entry.result, entry.reason), entry)
        return True
    return False


def _evacuation_failed(client, entry, server, say):
    entry.result = results.FAILED
    entry.reason = failure_reason(client, entry, server)
    say('failed: %s' % entry.reason, entry)
    return True


def _evacuation_record(client, entry):
    """The evacuation's migration record (None when it cannot be read)."""
    try:
        return migration_record(client, entry, _details_version(client))
    except compute_api.TRANSIENT:
        return None


def execute(client, entries, max_parallel=2, timeout=None,
            block_migration='auto', say=None, stop=None, poll_interval=2.0,
            sleep=time.sleep, clock=time.monotonic):
    """Move the movable entries, at most ``max_parallel`` at a time.

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
                    entry.result = results.NOT_STARTED
                    entry.reason = 'interrupted before it was started'
                queue = []
            for entry in list(in_flight):
                if poll(client, entry, timeout, say, clock):
                    in_flight.remove(entry)
            if in_flight:
                sleep(poll_interval)
    except KeyboardInterrupt:
        if current is not None:
            current.result = results.UNKNOWN
            current.reason = ('interrupted while the %s request was '
                              'sent; check the server' % _kind(current)[2])
        for entry in in_flight:
            entry.result = results.UNKNOWN
            entry.reason = 'still %s; not waited for (interrupted)' % (
                'evacuating' if entry.evacuate else 'migrating')
        for entry in queue:
            entry.result = results.NOT_STARTED
            entry.reason = 'interrupted before it was started'
    return entries
