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

"""The source compute's own proof that a rescued server's destination is
capable, made before anything moves.

The API checks a named destination and the scheduler is steered to capable
nodes, but a request can reach the source without either holding (an API
node still serving another release, nova's ComputeCapabilitiesFilter
disabled, a destination switched back to nova's driver in between). The
source's pre-check is the last point where nothing has moved yet.

nova does not name the destination in what it hands the source pre-check,
but placement does: before the destination's checks run, the conductor has
moved the server's allocation on the source to the migration and claimed
the destination's resources for the server, so the server's own allocations
name the destination's compute node (its provider uuid is the node's uuid).
"""

from futurist import waiters
from keystoneauth1 import exceptions as ks_exc
from nova import exception
from nova import objects
from nova import thread_pool_factory

from nova_rescue_lm import capability
from nova_rescue_lm.compute import capability as compute_capability
from nova_rescue_lm.i18n import _


def _refuse(instance, why):
    # nova keeps 255 characters of it in the instance action event, behind
    # its own prefix: the reason comes first.
    raise exception.MigrationPreCheckError(reason=_(
        "%s; the rescued server stays where it is") % why)


def _destination_nodes(context, instance, reportclient):
    """``[(node, traits or error)]`` of the destination's compute nodes.

    The traits of every provider the server's allocations name are read
    while the conductor tells which of them are compute nodes (one
    placement request each, all at once).
    """
    try:
        allocations = reportclient.get_allocs_for_consumer(
            context, instance.uuid)['allocations']
    except (exception.ConsumerAllocationRetrievalFailed,
            ks_exc.ClientException) as e:
        _refuse(instance, _('placement could not tell which compute node is '
                            'the destination (%s)') % e)
    reads = {uuid: thread_pool_factory.spawn(
        compute_capability.provider_traits, reportclient, context, uuid)
        for uuid in allocations}
    try:
        nodes = [node for node in objects.ComputeNodeList.get_all_by_uuids(
            context, list(allocations)) if node.host != instance.host]
    finally:
        waiters.wait_for_all(reads.values())
    if not nodes:
        _refuse(instance, _('no destination compute node holds resources '
                            'for it in placement to check'))
    return [(node, reads[node.uuid].result()) for node in nodes]


def refuse_unproven(context, instance, virtapi, source_capable):
    """Raise ``MigrationPreCheckError`` unless both ends prove, now, that
    they run a driver of this package with the capability.

    Called on the source compute (``instance.host``).

    :param virtapi: the driver's ``virtapi`` (nova-compute's report client)
    :param source_capable: whether this compute's driver has the capability.
    """
    if not source_capable:
        _refuse(instance, _('source %s: live migration of rescued servers '
                            'is switched off there') % instance.host)
    for node, traits in _destination_nodes(context, instance,
                                           virtapi.reportclient):
        if isinstance(traits, Exception):
            _refuse(instance, _('destination node %(node)s: its traits could '
                                'not be read from placement (%(e)s)') %
                    {'node': node.hypervisor_hostname, 'e': traits})
        why = capability.unproven(traits, node.stats)
        if why:
            _refuse(instance, _('destination node %(node)s: %(why)s') %
                    {'node': node.hypervisor_hostname, 'why': why})
