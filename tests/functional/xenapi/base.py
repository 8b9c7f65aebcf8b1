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

"""nova's services with XenAPI computes that talk to simulated XAPI pools.

nova's API (through this repository's api-paste.ini, so the package's
router and microversion 2.105), conductor, scheduler and placement run as
in nova's own functional tests; each compute runs
``rescue_lm.xenapi.XenAPIDriver`` against a ``tests.xapisim`` pool over
real XML-RPC. Nothing of XAPI is mocked: tests read what the pools hold.
"""

import os
from unittest import mock

from nova import context as nova_context
from nova import objects
from nova.tests.functional import integrated_helpers
from oslo_utils.fixture import uuidsentinel as uuids

# Imported before nova's TestCase snapshots the object registry, as the
# driver is in a real nova-compute before its RPC server starts (it
# registers XenAPILiveMigrateData) and the options are registered.
from nova_rescue_lm import capability
import nova_rescue_lm.virt.xenapi  # noqa: F401
from tests.xapisim import Simulator

#: The package's api-paste.ini (its router, microversion 2.105).
PASTE_INI = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))),
    'etc', 'nova-rescue-lm', 'api-paste.ini')
DRIVER = 'rescue_lm.xenapi.XenAPIDriver'
TRAIT = capability.TRAIT


class XenAPITestBase(integrated_helpers._IntegratedTestBase):
    """No compute at set-up; ``start_compute`` starts XenAPI computes."""

    ADMIN_API = True
    microversion = '2.105'

    def setUp(self):
        self.flags(api_paste_config=PASTE_INI, group='wsgi')
        # As the docs ask of a XenAPI compute: nova's default (True) takes
        # the capability away.
        self.flags(live_migration_wait_for_vif_plug=False, group='compute')
        self.pools = {}
        super().setUp()
        self.ctxt = nova_context.get_admin_context()

    def _setup_compute_service(self):
        self.computes = {}
        return None

    def _stop_computes(self):
        for compute in self.computes.values():
            compute.stop()

    def start_pool(self, name, hosts, **kwargs):
        kwargs.setdefault('strict_create', True)
        sim = Simulator(pool_name=name, hosts=hosts, username='root',
                        password='secret', **kwargs).start()
        self.addCleanup(sim.stop)
        self.pools[name] = sim
        return sim

    def start_compute(self, hostname, sim, xapi_host, connection_url=None,
                      **xenserver):
        """A nova-compute named ``hostname`` managing ``xapi_host`` (None:
        the host ``connection_url`` names, by default the pool master);
        ``xenserver``: other [xenserver] options.
        """
        self.flags(compute_driver=DRIVER)
        options = dict(connection_url=connection_url or sim.url,
                       connection_username='root',
                       connection_password='secret', xapi_host=xapi_host,
                       integration_bridge='xenbr0', call_timeout=60,
                       migration_timeout=60)
        options.update(xenserver)
        self.flags(group='xenserver', **options)
        with mock.patch('nova.virt.node.get_local_node_uuid',
                        return_value=str(getattr(uuids, 'node_' + hostname))):
            compute = self.start_service('compute', host=hostname)
            # The driver remembers the node uuid while it is mocked.
            compute.driver.get_nodenames_by_uuid()
        self.computes[hostname] = compute
        return compute

    # what users and operators see

    def _host_of(self, server):
        return self._show_server(server)['OS-EXT-SRV-ATTR:host']

    def _live_migrate_action(self, server, host=None,
                             check_response_status=None):
        body = {'os-migrateLive': {'host': host, 'block_migration': 'auto'}}
        kwargs = {}
        if check_response_status:
            kwargs['check_response_status'] = check_response_status
        return self.api.api_post('/servers/%s/action' % server['id'], body,
                                 **kwargs)

    def _migrations_of(self, server):
        return self.api.api_get(
            '/os-migrations?instance_uuid=%s' % server['id']
        ).body['migrations']

    def _instance(self, server):
        return objects.Instance.get_by_uuid(
            self.ctxt, server['id'], expected_attrs=['system_metadata'])

    def _provider_traits_of(self, hostname):
        """Traits of the resource provider of ``hostname``'s node."""
        node = self.computes[hostname].driver.get_available_nodes()[0]
        return self._get_provider_traits(
            self._get_provider_uuid_by_name(node))

    # what the pools hold

    def vms_of(self, server):
        return [(name, vm) for name, sim in self.pools.items()
                for vm in sim.vms()
                if vm['other_config'].get('nova_uuid') == server['id']]

    def the_vm(self, server):
        """(pool name, VM) of the server's one VM, in all pools."""
        vms = self.vms_of(server)
        self.assertEqual(1, len(vms), vms)
        return vms[0]

    def disks_of(self, server):
        """{(pool, disk type, userdevice): vdi} of the server's disks."""
        out = {}
        for name, sim in self.pools.items():
            for vdi in sim.vdis():
                cfg = vdi['other_config']
                if cfg.get('nova_instance_uuid') == server['id']:
                    out[(name, cfg['nova_disk_type'],
                         cfg.get('nova_userdevice'))] = vdi
        return out

    @staticmethod
    def layout(vm):
        return [(int(vbd['userdevice']), vbd['vdi_uuid'])
                for vbd in vm['vbds']]
