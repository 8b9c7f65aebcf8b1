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

"""Fakes for what nova's API and compute code reach outside the process.

Only the boundaries are replaced: the database (object lookups and saves),
neutron, placement (the report client) and the conductor's RPC client. All
of nova's and the package's own logic in between runs for real.
"""

import os
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ks_exc
from nova.api.openstack import api_version_request
from nova.api.openstack.compute import versions
from nova.compute import vm_states
from nova import exception
from nova.network import model as network_model
from nova import objects
from nova.scheduler.client import report
from nova.tests.unit import fake_instance
from oslo_utils.fixture import uuidsentinel as uuids
from oslo_utils import timeutils

from nova_rescue_lm.api import microversion
from nova_rescue_lm import capability
from nova_rescue_lm.compute import destination_nodes
from nova_rescue_lm import nova_shape

TRAIT = capability.TRAIT
REQUIRED_TRAIT = 'trait:' + TRAIT

SOURCE_HOST = 'src-host'
SOURCE_NODE = 'src-node.example.org'
DEST_HOST = 'dst-host'
DEST_NODES = ('dst-node-a.example.org', 'dst-node-b.example.org')


def instance(context, vm_state=vm_states.RESCUED, **updates):
    """A launched server on SOURCE_HOST, by default in RESCUE state."""
    values = dict(
        uuid=uuids.instance, vm_state=vm_state, task_state=None,
        launched_at=timeutils.utcnow(), host=SOURCE_HOST, node=SOURCE_NODE,
        locked=False, image_ref=uuids.image, kernel_id='', ramdisk_id='',
        project_id=context.project_id or 'fake-project',
        user_id=context.user_id or 'fake-user')
    values.update(updates)
    inst = fake_instance.fake_instance_obj(
        context, expected_attrs=['system_metadata', 'metadata',
                                 'pci_devices'], **values)
    inst.info_cache = objects.InstanceInfoCache(
        network_info=network_model.NetworkInfo([network_model.VIF(
            id=uuids.port, address='fa:16:3e:00:00:01',
            vnic_type=network_model.VNIC_TYPE_NORMAL)]))
    for field in ('numa_topology', 'pci_requests', 'trusted_certs',
                  'vcpu_model'):
        setattr(inst, field, None)
    inst.obj_reset_changes(recursive=True)
    return inst


class MicroversionState(fixtures.Fixture):
    """Start from nova's stock maximum microversion, with nova_shape asked
    afresh; restore both afterwards.
    """

    def _setUp(self):
        saved_max = api_version_request._MAX_API_VERSION
        saved_doc = versions.VERSIONS['v2.1']['version']
        saved_stock = list(microversion._stock)

        def restore():
            api_version_request._MAX_API_VERSION = saved_max
            versions.VERSIONS['v2.1']['version'] = saved_doc
            microversion._stock[:] = saved_stock
            clear_shape_caches()
        self.addCleanup(restore)
        api_version_request._MAX_API_VERSION = '2.104'
        versions.VERSIONS['v2.1']['version'] = '2.104'
        microversion._stock[:] = []
        clear_shape_caches()


class NovaLookupRestored(fixtures.Fixture):
    """nova's own ComputeNodeList.get_all_by_host, during and after the
    test (the package's router wraps it: destination_nodes.install; a
    router built by an earlier test of the process may have).
    """

    def _setUp(self):
        cls = objects.ComputeNodeList
        saved = cls.__dict__['get_all_by_host']
        self.addCleanup(setattr, cls, 'get_all_by_host', saved)
        if destination_nodes.installed():
            cls.get_all_by_host = classmethod(saved.__func__.__wrapped__)


def clear_shape_caches():
    nova_shape.api_differences.cache_clear()
    nova_shape.libvirt_differences.cache_clear()


class Placement(fixtures.Fixture):
    """The placement report client, answering get_provider_traits.

    ``traits`` maps resource provider uuid to a set of traits, or to an
    exception to raise for that provider.
    """

    def __init__(self, traits=None):
        super().__init__()
        self.traits = dict(traits or {})
        self.asked = []

    def _get_provider_traits(self, context, rp_uuid):
        self.asked.append(rp_uuid)
        answer = self.traits.get(rp_uuid, set())
        if isinstance(answer, Exception):
            raise answer
        return report.TraitInfo(traits=set(answer), generation=1)

    def _setUp(self):
        self.client = mock.Mock(spec=report.SchedulerReportClient)
        self.client.get_provider_traits.side_effect = self._get_provider_traits
        self.useFixture(fixtures.MockPatch(
            'nova.scheduler.client.report.report_client_singleton',
            return_value=self.client))


def placement_down():
    return ks_exc.ConnectFailure('placement is unreachable')


class ComputeNodes(fixtures.Fixture):
    """Compute nodes in the database: one source node, two on DEST_HOST."""

    def _setUp(self):
        # Every node's latest resource update came from a capable driver
        # (libvirt, which also takes evacuated rescued servers).
        marker = capability.stats_marker(True, evacuation=True)
        self.source = objects.ComputeNode(
            uuid=uuids.source_node, host=SOURCE_HOST,
            hypervisor_hostname=SOURCE_NODE, stats=dict(marker))
        self.dest = [
            objects.ComputeNode(uuid=uuid, host=DEST_HOST,
                                hypervisor_hostname=name, stats=dict(marker))
            for uuid, name in zip((uuids.dest_node_a, uuids.dest_node_b),
                                  DEST_NODES)]

        def by_host_and_nodename(context, host, nodename):
            for node in [self.source] + self.dest:
                if (node.host, node.hypervisor_hostname) == (host, nodename):
                    return node
            raise exception.ComputeHostNotFound(host=host)

        def all_by_host(context, host, use_slave=False):
            nodes = [n for n in [self.source] + self.dest if n.host == host]
            if not nodes:
                raise exception.ComputeHostNotFound(host=host)
            return objects.ComputeNodeList(objects=nodes)

        self.useFixture(fixtures.MockPatch(
            'nova.objects.ComputeNode.get_by_host_and_nodename',
            side_effect=by_host_and_nodename))
        self.useFixture(fixtures.MockPatch(
            'nova.objects.ComputeNodeList.get_all_by_host',
            side_effect=all_by_host))

    @property
    def all_capable(self):
        return {node.uuid: {TRAIT} for node in [self.source] + self.dest}


class LiveMigrationBoundaries(fixtures.Fixture):
    """Everything ``compute.API.live_migrate`` touches outside the process.

    ``sent`` holds the request specs handed to the conductor, as the
    conductor would receive them (serialised primitives).
    """

    def __init__(self, request_spec):
        super().__init__()
        self.request_spec = request_spec
        self.sent = []
        self.saved_task_states = []

    def _setUp(self):
        def patch(target, **kwargs):
            return self.useFixture(fixtures.MockPatch(target, **kwargs)).mock

        def save_instance(inst, *args, **kwargs):
            self.saved_task_states.append(inst.task_state)
            inst.obj_reset_changes()

        def cast(rpcapi, context, instance, scheduler_hint, block_migration,
                 disk_over_commit, request_spec):
            self.sent.append(request_spec.obj_to_primitive())

        patch('nova.objects.ShareMappingList.get_by_instance_uuid',
              return_value=objects.ShareMappingList(objects=[]))
        patch('nova.network.neutron.API.'
              'instance_has_extended_resource_request', return_value=False)
        patch('nova.objects.RequestSpec.get_by_instance_uuid',
              return_value=self.request_spec)
        self.request_spec_save = patch('nova.objects.RequestSpec.save')
        self.useFixture(fixtures.MonkeyPatch('nova.objects.Instance.save',
                                             save_instance))
        patch('nova.objects.InstanceAction.action_start')
        self.useFixture(fixtures.MonkeyPatch(
            'nova.conductor.rpcapi.ComputeTaskAPI.live_migrate_instance',
            cast))

    def sent_extra_specs(self):
        """extra_specs of the flavor of each request spec sent."""
        return [objects.RequestSpec.obj_from_primitive(p).flavor.extra_specs
                for p in self.sent]


def request_spec(inst, **updates):
    values = dict(instance_uuid=inst.uuid, flavor=inst.flavor.obj_clone(),
                  project_id=inst.project_id, is_bfv=False)
    values.update(updates)
    spec = objects.RequestSpec(**values)
    spec.obj_reset_changes(recursive=True)
    return spec


def api_version(version):
    return api_version_request.APIVersionRequest(version)


def make_files(root, names):
    """Create files (and 'dir/' directories with content) under root."""
    for name in names:
        path = os.path.join(root, name.rstrip('/'))
        if name.endswith('/'):
            os.makedirs(path)
            with open(os.path.join(path, 'content'), 'w') as f:
                f.write('x')
        else:
            with open(path, 'w') as f:
                f.write('x')
