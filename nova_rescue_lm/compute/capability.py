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

"""Which compute nodes can live-migrate rescued servers, asked now.

A node is capable when its resource provider carries the trait and its own
latest resource update carries the stats marker
(:func:`nova_rescue_lm.capability.unproven`). During a rolling upgrade this
tells precisely which nodes run a capable driver, and a trait left behind by
a compute switched back to nova's driver is not believed.

Both signals are read for every request, never cached: a stale yes sends a
rescue domain to a driver that loses its disks. What is saved instead is
waiting: placement is asked about every node at once (one request per node,
all in flight together), nova's own lookup of the destination's nodes is
the check's (:mod:`nova_rescue_lm.compute.destination_nodes`), and the
placement client is built when nova-api starts
(:func:`build_placement_client`).
"""

from futurist import waiters
from keystoneauth1 import exceptions as ks_exc
from nova import exception as nova_exception
from nova import objects
from nova.policies import extended_server_attributes as esa_policies
from nova.scheduler.client import report
from nova import thread_pool_factory
from oslo_log import log as logging

from nova_rescue_lm import capability
from nova_rescue_lm.compute import destination_nodes
from nova_rescue_lm import exception

LOG = logging.getLogger(__name__)

#: What reading a node's traits can fail with; the request then gets 409.
READ_ERRORS = (nova_exception.ResourceProviderTraitRetrievalFailed,
               ks_exc.ClientException)


def build_placement_client():
    """Build nova's placement client now; False if that failed.

    Its first build asks keystone for a token and placement for its version
    (about 400 ms on the test bed), which the first rescued live migration
    of every API worker paid. Its idle connections are then closed, so that
    no socket is shared by API workers forked after this. A failure is only
    logged: nova-api starts anyway, and a rescued request builds the client
    again or answers 409, as it did before.
    """
    try:
        client = report.report_client_singleton()
    except Exception as e:
        LOG.warning('nova-rescue-lm: the placement client could not be '
                    'built at start (%s); the first live migration of a '
                    'rescued server will try again.', e)
        return False
    try:
        # keystoneauth reopens connections as needed, token kept
        client._client.session.close()
    except Exception as e:
        LOG.debug('Could not close the placement client\'s idle '
                  'connections: %s', e)
    return True


def _node_label(context, instance, node):
    """' <name>' for callers allowed to see hypervisor names, else ''."""
    if context.can(esa_policies.BASE_POLICY_NAME,
                   target={'project_id': instance.project_id}, fatal=False):
        return ' %s' % node.hypervisor_hostname
    return ''


def provider_traits(client, context, uuid):
    """A resource provider's traits, or the error reading them raised.

    Also the source compute's read of its destination
    (:mod:`nova_rescue_lm.virt.destination`).
    """
    try:
        return client.get_provider_traits(context, uuid).traits
    except READ_ERRORS as e:
        return e


def read_traits(context, nodes):
    """Each node's traits (or the error reading them), in ``nodes`` order.

    One placement request per node, all in flight at once: the wait is the
    slowest round trip, not their sum.
    """
    if not nodes:
        return []
    try:
        client = report.report_client_singleton()
    except READ_ERRORS as e:
        return [e] * len(nodes)
    later = [thread_pool_factory.spawn(provider_traits, client, context,
                                       node.uuid)
             for node in nodes[1:]]
    try:
        first = provider_traits(client, context, nodes[0].uuid)
    finally:
        waiters.wait_for_all(later)
    return [first] + [future.result() for future in later]


def why_not_capable(context, instance, node, traits,
                    unproven=capability.unproven,
                    unknown=exception.CapabilityUnknown):
    """Why ``node`` with ``traits`` (as :func:`read_traits` gave them)
    cannot take part, or None; ``unknown`` (409) if its traits could not be
    read.
    """
    if isinstance(traits, Exception):
        LOG.warning('Cannot read the traits of compute node %s: %s',
                    node.hypervisor_hostname, traits, instance=instance)
        raise unknown(node=_node_label(context, instance, node))
    return unproven(traits, node.stats)


def check_nodes(api, context, instance, host_name):
    """Raise a 400 error naming the first incapable node.

    The source node is checked first, then every node of the requested
    destination host (``ComputeHostNotFound`` for an unknown host is left to
    nova's usual 400, after the source's answer).

    The source's node is the one compute-node query nova-api does not make
    itself (its conductor does, after the 202): its row holds the stats
    marker, and its uuid names the resource provider to ask.
    """
    source = objects.ComputeNode.get_by_host_and_nodename(
        context, instance.host, instance.node)
    _check(context, instance, source, host_name)


def check_destination(api, context, instance, host_name):
    """:func:`check_nodes` for an evacuation: only the destination's nodes.

    The source's compute is down: its stats are stale by definition, and
    nothing runs there to be proven. If it is up after all, nova's own
    refusal (``ComputeServiceInUse``) is the answer, so nothing is read.
    """
    if not host_name:
        return  # the scheduler asks for the capability (scheduling)
    service = objects.Service.get_by_compute_host(context, instance.host)
    if not api.servicegroup_api.service_is_up(service):
        _check(context, instance, None, host_name,
               exception.EvacuationDestinationNotCapable,
               capability.unproven_for_evacuation,
               exception.EvacuationCapabilityUnknown)


def _check(context, instance, source, host_name,
           destination_error=exception.DestinationNodeNotCapable,
           unproven=capability.unproven,
           unknown=exception.CapabilityUnknown):
    nodes, unknown_host = [source] if source else [], None
    if host_name:
        try:
            nodes.extend(destination_nodes.lookup(context, host_name))
        except nova_exception.ComputeHostNotFound as e:
            unknown_host = e
    for node, traits in zip(nodes, read_traits(context, nodes)):
        why = why_not_capable(context, instance, node, traits, unproven,
                              unknown)
        if why:
            error = (exception.SourceNodeNotCapable if node is source
                     else destination_error)
            raise error(node=_node_label(context, instance, node), why=why)
    if unknown_host:
        raise unknown_host
