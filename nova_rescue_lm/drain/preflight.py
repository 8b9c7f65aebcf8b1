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

"""Which servers cannot move, and why, told from GET requests alone.

Since microversion 2.34 nova accepts a live migration (202) before its
conductor and computes check the destination, so several refusals only show
up later as a failed migration. The drain finds these first:

* flavor extra specs with which nova refuses any live migration
  (accelerators, memory encryption, a vTPM without host secret security);
* shares (microversion 2.97 and later);
* for RESCUED servers, the ``CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED`` trait,
  read from placement as nova-api reads it
  (``nova_rescue_lm.compute.capability``): on the server's own compute node,
  on every node of an explicit target host, and, without a target, on at
  least one node of another enabled, up compute host (the scheduler
  considers only those).

An evacuation (``nova-rescue-lm-drain --evacuate``) is refused by nova for
other reasons: a vTPM (any), shares; RESCUED servers need the trait on their
destination only, since their source is down
(:func:`evacuation_flavor_blocker`, :func:`share_blocker`).

Image properties can ask for memory encryption or a vTPM too; reading them
would mean one image request per server, so those are left to the API's
answer. Nothing here imports nova.
"""

from keystoneauth1 import exceptions as ks_exc

from nova_rescue_lm import capability

TRAIT = capability.TRAIT

#: Hypervisor ids are compute node UUIDs (= resource provider UUIDs) since.
HYPERVISORS_MICROVERSION = '2.53'
#: GET /resource_providers?required=<trait> exists since.
PLACEMENT_MICROVERSION = '1.18'
#: GET /servers/{id}/shares exists since.
SHARES_MICROVERSION = (2, 97)

_TRUE = ('1', 't', 'true', 'on', 'y', 'yes')


def flavor_blocker(server):
    """Why nova refuses to live-migrate ``server`` for its flavor, or None.

    ``server`` as GET /servers/detail shows it to an admin at 2.47 or later
    (the flavor with its extra specs embedded).
    """
    specs = (server.get('flavor') or {}).get('extra_specs') or {}
    profile = specs.get('accel:device_profile')
    if profile:
        return ('it has accelerators (flavor extra spec '
                'accel:device_profile=%s); nova does not live-migrate such '
                'servers' % profile)
    if str(specs.get('hw:mem_encryption', '')).lower() in _TRUE:
        return ('it uses memory encryption (flavor extra spec '
                'hw:mem_encryption); nova does not live-migrate such '
                'servers')
    if specs.get('hw:tpm_version'):
        security = specs.get('hw:tpm_secret_security') or 'user'
        if security != 'host':
            return ("it has a vTPM with secret security '%s' (flavor); nova "
                    "live-migrates vTPM servers only with "
                    "hw:tpm_secret_security=host" % security)
    return None


def evacuation_flavor_blocker(server):
    """Why nova refuses to evacuate ``server`` for its flavor, or None.

    nova 34 evacuates no server with a vTPM, whatever its secret security
    (``reject_vtpm_instances``); accelerators are rebuilt on the new host.
    """
    specs = (server.get('flavor') or {}).get('extra_specs') or {}
    if specs.get('hw:tpm_version'):
        return ('it has a vTPM (flavor extra spec hw:tpm_version=%s); nova '
                'does not evacuate vTPM servers' % specs['hw:tpm_version'])
    return None


def share_blocker(client, server_id, max_version, verb='live-migrate'):
    """Why the server's shares keep it in place, or None (also unknown).

    ``verb`` is what nova would refuse (``live-migrate`` or ``evacuate``).
    """
    if tuple(max_version) < SHARES_MICROVERSION:
        return None
    resp = client.get('/servers/%s/shares' % server_id,
                      '%d.%d' % SHARES_MICROVERSION)
    if resp.status_code != 200:
        return None
    shares = resp.json().get('shares') or []
    if not shares:
        return None
    return ('it has %d share(s) attached (openstack server share list); '
            'nova does not %s servers with shares' % (len(shares), verb))


class Capability:
    """Which compute nodes carry the trait, by host."""

    def __init__(self, nodes, capable, usable):
        #: {host: {node name: node uuid}}
        self.nodes = nodes
        #: uuids of the nodes that carry the trait
        self.capable = set(capable)
        #: hosts whose compute service is enabled and up
        self.usable = set(usable)

    @classmethod
    def read(cls, client, placement):
        """(Capability, None), or (None, why it could not be read)."""
        if placement is None:
            return None, 'no placement endpoint was given'
        try:
            capable, why = _capable_providers(placement)
            if why:
                return None, why
            hypervisors, why = _hypervisors(client)
            if why:
                return None, why
        except ks_exc.EndpointNotFound as e:
            return None, 'no placement endpoint (%s)' % e
        except (ks_exc.ConnectionError, ks_exc.RequestTimeout) as e:
            return None, 'placement cannot be reached (%s)' % e
        nodes, usable = {}, set()
        for hypervisor in hypervisors:
            host = (hypervisor.get('service') or {}).get('host')
            if not host:
                continue
            nodes.setdefault(host, {})[
                hypervisor['hypervisor_hostname']] = hypervisor['id']
            if (hypervisor.get('status') == 'enabled' and
                    hypervisor.get('state') == 'up'):
                usable.add(host)
        return cls(nodes, capable, usable), None

    def source_reason(self, host, node):
        """Why a rescued server on ``host``/``node`` cannot leave, or None."""
        uuid = self.nodes.get(host, {}).get(node)
        if uuid is None or uuid in self.capable:
            return None
        return ('its compute node %s lacks the %s trait (it does not run '
                "nova-rescue-lm's driver, or has [rescue_lm] "
                'live_migrate_rescued = False): upgrade that compute or '
                'unrescue the server' % (node, TRAIT))

    def target_reason(self, target):
        """Why no rescued server can go to ``target``, or None."""
        lacking = sorted(name for name, uuid in
                         self.nodes.get(target, {}).items()
                         if uuid not in self.capable)
        if not lacking:
            return None
        return ('the target host %s has compute node(s) without the %s '
                'trait (%s): choose an upgraded compute, or no --target' % (
                    target, TRAIT, ', '.join(lacking)))

    def destinations(self, source):
        """Enabled, up hosts other than ``source`` with a capable node."""
        return sorted(
            host for host, nodes in self.nodes.items()
            if host != source and host in self.usable and
            any(uuid in self.capable for uuid in nodes.values()))

    def no_destination_reason(self, source):
        if self.destinations(source):
            return None
        return ('no other enabled, up compute host has a node with the %s '
                'trait, so the scheduler would find no valid host '
                '(nova-rescue-lm-status upgrade check lists the nodes that '
                'lack it)' % TRAIT)


def _capable_providers(placement):
    resp = placement.get('/resource_providers?required=%s' % TRAIT,
                         microversion=PLACEMENT_MICROVERSION,
                         raise_exc=False)
    if resp.status_code != 200:
        return None, 'placement answered %s to GET /resource_providers' % (
            resp.status_code)
    return [rp['uuid'] for rp in resp.json().get('resource_providers', [])], \
        None


def _hypervisors(client):
    query = '/os-hypervisors/detail?limit=1000'
    hypervisors, url = [], query
    while url:
        resp = client.get(url, HYPERVISORS_MICROVERSION)
        if resp.status_code != 200:
            return None, 'the compute API answered %s to GET %s' % (
                resp.status_code, query.split('?')[0])
        body = resp.json()
        page = body.get('hypervisors', [])
        hypervisors.extend(page)
        url = None
        if page and any(link.get('rel') == 'next'
                        for link in body.get('hypervisors_links', [])):
            url = '%s&marker=%s' % (query, page[-1]['id'])
    return hypervisors, None
