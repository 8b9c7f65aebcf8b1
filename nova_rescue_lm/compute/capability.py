"""Which compute nodes can live-migrate rescued servers, asked of placement.

The answer is the ``CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED`` trait on the node's
resource provider, reported by the node's own driver. During a rolling upgrade
it tells precisely which nodes run a capable driver.
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


def node_is_capable(context, instance, node):
    try:
        traits = report.report_client_singleton().get_provider_traits(
            context, node.uuid).traits
    except (nova_exception.ResourceProviderTraitRetrievalFailed,
            ks_exc.ClientException) as e:
        LOG.warning('Cannot read the traits of compute node %s: %s',
                    node.hypervisor_hostname, e, instance=instance)
        raise exception.CapabilityUnknown(
            node=_node_label(context, instance, node))
    return capability.TRAIT in traits


def check_nodes(api, context, instance, host_name):
    """Raise a 400 error naming the first incapable node.

    The source node is checked first, then every node of the requested
    destination host (``ComputeHostNotFound`` for an unknown host is left to
    nova's usual 400).
    """
    source = objects.ComputeNode.get_by_host_and_nodename(
        context, instance.host, instance.node)
    if not node_is_capable(context, instance, source):
        raise exception.SourceNodeNotCapable(
            node=_node_label(context, instance, source),
            trait=capability.TRAIT)
    if not host_name:
        return
    for node in objects.ComputeNodeList.get_all_by_host(context, host_name):
        if not node_is_capable(context, instance, node):
            raise exception.DestinationNodeNotCapable(
                node=_node_label(context, instance, node),
                trait=capability.TRAIT)
