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

"""Which servers of a host move, at which microversion, and why not.

Nothing but GET requests: the host's and the target's compute services,
every server on the host (all projects), and for each one a decision:

* ACTIVE and PAUSED servers are live-migrated at microversion 2.68 (the
  request body ``{"host": ..., "block_migration": ...}`` without ``force``;
  2.25 when the API is older), never higher than the API offers;
* RESCUED servers are live-migrated at microversion 2.105, and only there:
  the API must advertise 2.105 in its version document, which it does when
  nova-rescue-lm is enabled in its api-paste.ini;
* every other server (SHUTOFF, ERROR, SHELVED, SUSPENDED, resizing, already
  migrating, ...) cannot be live-migrated; the reason is given.

With ``evacuate`` (``nova-rescue-lm-drain --evacuate``) the host's
nova-compute must be down, and every server is evacuated instead
(:func:`decide_evacuation`): ACTIVE, SHUTOFF and ERROR servers at
microversion 2.95, RESCUED servers at 2.106 (offered when nova-rescue-lm is
enabled in the API); nova leaves them stopped on their new host, except
a server that was in ERROR, which it starts.

Movable servers are then checked for what nova would refuse only later
(:mod:`nova_rescue_lm.drain.preflight`). The result is a list of
:class:`~nova_rescue_lm.drain.results.Entry`, each "would move" or "cannot
move"; bad input raises :class:`~nova_rescue_lm.drain.compute_api.DrainError`.
"""

from urllib import parse

from nova_rescue_lm.drain import compute_api
from nova_rescue_lm.drain import preflight
from nova_rescue_lm.drain import results
from nova_rescue_lm import microversions

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


#: Why nova refuses to evacuate a server in this vm_state.
EVACUATION_REFUSED_STATES = {
    'paused': 'nova does not evacuate a paused server',
    'suspended': 'nova does not evacuate a suspended server',
    'shelved': 'nova does not evacuate a shelved server',
    'shelved_offloaded': 'a shelved-offloaded server uses no host',
    'resized': 'nova does not evacuate a server whose resize waits to be '
               'confirmed or reverted',
    'soft-delete': 'the server is soft-deleted; restore or delete it',
    'building': 'the server is still building',
    'rescued': 'the compute API does not offer microversion 2.106: '
               "nova-rescue-lm's evacuation of rescued servers is not "
               'enabled on this API, so nova refuses to evacuate rescued '
               'servers',
}


def _busy(server):
    """Why a server with a task in progress stays, or None."""
    task_state = server.get('OS-EXT-STS:task_state')
    if server.get('status') == 'MIGRATING' or task_state == 'migrating':
        return 'already migrating'
    if task_state:
        return 'task %s in progress' % task_state
    return None


def decide(server, max_version):
    """(microversion, reason) for a server: microversion None = cannot move.

    ``server`` is a server as GET /servers/detail shows it to an admin.
    """
    version_tuple = compute_api.version_tuple
    vm_state = server.get('OS-EXT-STS:vm_state')
    status = server.get('status')
    busy = _busy(server)
    if busy:
        return None, busy
    if vm_state in ('active', 'paused'):
        version = compute_api.live_migrate_microversion(max_version)
        if version is None:
            return None, ('the compute API offers microversion %s only, '
                          'below %s' % (
                              compute_api.version_str(max_version),
                              compute_api.LIVE_MIGRATE_MICROVERSIONS[-1]))
        return version, ''
    if vm_state == 'rescued':
        if (version_tuple(max_version) >=
                version_tuple(microversions.RESCUED_LIVE_MIGRATION)):
            return microversions.RESCUED_LIVE_MIGRATION, ''
        return None, ('%s (its maximum microversion is %s)' % (
            REFUSED_STATES['rescued'], compute_api.version_str(max_version)))
    return None, '%s: %s' % (
        status, REFUSED_STATES.get(vm_state,
                                   'nova cannot live-migrate a server in '
                                   'this state'))


def decide_evacuation(server, max_version):
    """(microversion, reason) for evacuating a server; None = cannot.

    nova evacuates ACTIVE, SHUTOFF and ERROR servers without a task; from
    microversion 2.95 it leaves them stopped on their new host (except a
    server that was in ERROR: nova 34 starts it), as it leaves a RESCUED
    server at 2.106.
    """
    version_tuple = compute_api.version_tuple
    vm_state = server.get('OS-EXT-STS:vm_state')
    status = server.get('status')
    busy = _busy(server)
    if busy:
        return None, busy
    if vm_state in ('active', 'stopped', 'error'):
        version = compute_api.EVACUATE_MICROVERSION
        if version_tuple(max_version) >= version_tuple(version):
            return version, ''
        return None, ('the compute API offers microversion %s only, below '
                      '%s (from which nova leaves evacuated servers '
                      'stopped)' % (compute_api.version_str(max_version),
                                    version))
    if vm_state == 'rescued':
        if (version_tuple(max_version) >=
                version_tuple(microversions.RESCUED_EVACUATION)):
            return microversions.RESCUED_EVACUATION, ''
        return None, ('%s (its maximum microversion is %s)' % (
            EVACUATION_REFUSED_STATES['rescued'],
            compute_api.version_str(max_version)))
    return None, '%s: %s' % (
        status, EVACUATION_REFUSED_STATES.get(
            vm_state, 'nova cannot evacuate a server in this state'))


def compute_service(client, host):
    """The nova-compute service of ``host``; DrainError when none."""
    resp = client.get('/os-services?binary=nova-compute&host=%s' %
                      parse.quote(host))
    services = compute_api.check_status(
        resp, 'list compute services')['services']
    services = [s for s in services if s.get('host') == host]
    if not services:
        raise compute_api.DrainError(
            "No compute service on host '%s' (see: openstack compute "
            "service list --service nova-compute)." % host)
    return services[0]


def servers_on(client, host, microversion):
    """Every server of every project on ``host`` (follows pagination)."""
    query = '/servers/detail?all_tenants=1&host=%s' % parse.quote(host)
    servers, url = [], query
    while url:
        body = compute_api.check_status(client.get(url, microversion),
                                        'list the servers of all projects')
        page = body.get('servers', [])
        servers.extend(page)
        url = None
        if any(link.get('rel') == 'next'
               for link in body.get('servers_links', [])) and page:
            url = '%s&marker=%s' % (query, page[-1]['id'])
    for server in servers:
        if 'OS-EXT-SRV-ATTR:host' not in server:
            raise compute_api.DrainError(
                'The API does not show which host the servers are on '
                '(os_compute_api:os-extended-server-attributes): admin '
                'credentials are needed.')
    return [s for s in servers if s['OS-EXT-SRV-ATTR:host'] == host]


def _host_reason(host, source, target, dest):
    """Why no server can leave ``host`` at all, or None."""
    if source.get('state') == 'down':
        return ('the compute service on %s is down; live migration needs it '
                'running (evacuate the servers instead: nova-rescue-lm-drain '
                '--evacuate %s)' % (host, host))
    return _target_reason(target, dest)


def _target_reason(target, dest):
    """Why no server can go to the target ``dest``, or None."""
    if dest is not None:
        if dest.get('state') == 'down':
            return 'the compute service on the target %s is down' % target
        if dest.get('status') == 'disabled':
            return ('the compute service on the target %s is disabled; the '
                    'scheduler does not place servers there' % target)
    return None


def _check_evacuable(host, source):
    """DrainError unless the nova-compute of ``host`` is down.

    nova evacuates only from a host whose compute service is down (forced
    down, or not reporting); on a live host it answers 400 for every server,
    and live migration is the way to empty it.
    """
    if source.get('state') != 'down':
        raise compute_api.DrainError(
            'The compute service on %(host)s is up: nova evacuates servers '
            'only from a host whose nova-compute is down. Live-migrate them '
            'instead (nova-rescue-lm-drain %(host)s), or, if the host has '
            'failed, fence it and mark its service down first (openstack '
            '--os-compute-api-version 2.11 compute service set --down '
            '%(host)s nova-compute).' % {'host': host})


def plan(client, host, target=None, say=None, placement=None,
         evacuate=False):
    """Check the input and decide for every server on ``host``.

    Nothing but GET requests: which servers would move, and for each one
    that cannot, why (see :mod:`nova_rescue_lm.drain.preflight`).
    ``placement`` is a keystoneauth adapter on the placement API; without
    it, or when placement cannot be read, RESCUED servers are checked by
    the API only when their migration is requested. ``evacuate``: the
    host's compute service must be down (DrainError otherwise) and the
    servers are to be evacuated, not live-migrated.
    """
    say = say or (lambda *a, **k: None)
    source = compute_service(client, host)
    if evacuate:
        _check_evacuable(host, source)
    dest = None
    if target is not None:
        if target == host:
            raise compute_api.DrainError(
                '--target is the host being drained.')
        dest = compute_service(client, target)
    if not evacuate and source.get('status') != 'disabled':
        say('note: %s is enabled, the scheduler may place new servers on it '
            '(openstack compute service set --disable %s nova-compute)' % (
                host, host))
    max_version = client.max_microversion()
    listing = compute_api.live_migrate_microversion(max_version) or '2.1'
    if evacuate:
        everywhere = _target_reason(target, dest)
        decide_one, flavor_blocker = (decide_evacuation,
                                      preflight.evacuation_flavor_blocker)
        verb, rescued_version = 'evacuate', microversions.RESCUED_EVACUATION
    else:
        everywhere = _host_reason(host, source, target, dest)
        decide_one, flavor_blocker = decide, preflight.flavor_blocker
        verb = 'live-migrate'
        rescued_version = microversions.RESCUED_LIVE_MIGRATION
    entries, servers = [], {}
    for server in sorted(servers_on(client, host, listing),
                         key=lambda s: (s.get('name') or '', s['id'])):
        servers[server['id']] = server
        microversion, reason = decide_one(server, max_version)
        if microversion is not None:
            reason = (everywhere or flavor_blocker(server) or
                      preflight.share_blocker(client, server['id'],
                                              max_version, verb) or '')
            if reason:
                microversion = None
        entries.append(results.Entry(
            id=server['id'], name=server.get('name') or '',
            state=server.get('status', ''), source=host,
            microversion=microversion, target=target, reason=reason,
            evacuate=evacuate))
    rescued = [e for e in entries if e.microversion == rescued_version]
    if rescued:
        check_rescued(client, placement, host, target, rescued, servers, say,
                      evacuate)
    for entry in entries:
        entry.result = (results.WOULD_MOVE if entry.movable
                        else results.CANNOT_MOVE)
    return entries


def check_rescued(client, placement, host, target, entries, servers, say,
                  evacuate=False):
    """Mark the RESCUED servers the trait keeps in place as cannot move.

    An evacuation needs the trait on the destination only: the source's
    compute is down, and nova-api does not ask for it there.
    """
    view, why = preflight.Capability.read(client, placement)
    if view is None:
        say('note: the %s trait could not be read (%s); the API checks it '
            'when a rescued server\'s %s is requested' % (
                preflight.TRAIT, why,
                'evacuation' if evacuate else 'migration'))
        for entry in entries:
            entry.reason = 'capability not checked: %s' % why
        return
    shared = (view.target_reason(target) if target
              else view.no_destination_reason(host))
    for entry in entries:
        node = servers[entry.id].get('OS-EXT-SRV-ATTR:hypervisor_hostname')
        reason = ((None if evacuate else view.source_reason(host, node)) or
                  shared)
        if reason:
            entry.microversion, entry.reason = None, reason
