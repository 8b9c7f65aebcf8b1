"""Which compute nodes can live-migrate rescued servers, asked now.

A node is capable when its resource provider carries the trait and its own
latest resource update carries the stats marker
(:func:`nova_rescue_lm.capability.unproven`). During a rolling upgrade this
tells precisely which nodes run a capable driver, and a trait left behind by
a compute switched back to nova's driver is not believed.
"""

from keystoneauth1 import exceptions as ks_exc
from nova import exception as nova_exception
from nova import objects
from nova.policies import extended_server_attributes as esa_policies
from nova.scheduler.client import report
from oslo_log import log as logging

from nova_rescue_lm import capability
from nova_rescue_lm import exception

LOG = logging.getLogger(__name__)


def _node_label(context, instance, node):
    """' <name>' for callers allowed to see hypervisor names, else ''."""
    if context.can(esa_policies.BASE_POLICY_NAME,
                   target={'project_id': instance.project_id}, fatal=False):
        return ' %s' % node.hypervisor_hostname
    return ''


def why_not_capable(context, instance, node):
    """Why ``node`` cannot take part, or None; never cached."""
    try:
        traits = report.report_client_singleton().get_provider_traits(
            context, node.uuid).traits
    except (nova_exception.ResourceProviderTraitRetrievalFailed,
            ks_exc.ClientException) as e:
        LOG.warning('Cannot read the traits of compute node %s: %s',
                    node.hypervisor_hostname, e, instance=instance)
        raise exception.CapabilityUnknown(
            node=_node_label(context, instance, node))
    return capability.unproven(traits, node.stats)


def check_nodes(api, context, instance, host_name):
    """Raise a 400 error naming the first incapable node.

    The source node is checked first, then every node of the requested
    destination host (``ComputeHostNotFound`` for an unknown host is left to
    nova's usual 400).
    """
    source = objects.ComputeNode.get_by_host_and_nodename(
        context, instance.host, instance.node)
    why = why_not_capable(context, instance, source)
    if why:
        raise exception.SourceNodeNotCapable(
            node=_node_label(context, instance, source), why=why)
    if not host_name:
        return
    for node in objects.ComputeNodeList.get_all_by_host(context, host_name):
        why = why_not_capable(context, instance, node)
        if why:
            raise exception.DestinationNodeNotCapable(
                node=_node_label(context, instance, node), why=why)
