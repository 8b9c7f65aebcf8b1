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

"""A cloud mid-upgrade: some computes still run nova's stock libvirt driver."""

import os

from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.api import client

from tests.functional import base

#: Twice the default memory: nova's RAM weigher prefers the stock compute.
BIG_HOST = fakelibvirt.HostInfo(cpu_nodes=1, cpu_sockets=1, cpu_cores=4,
                                cpu_threads=1, kB_mem=33560000)


class TestRollingUpgrade(base.RescueLiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')
        self.start_compute('stock', driver=base.STOCK_DRIVER,
                           host_info=BIG_HOST)
        self.manager_api = client.TestOpenStackClient(
            'manager', self.api.base_url, project_id=self.api.project_id,
            roles=['reader', 'member', 'manager'])
        self.manager_api.microversion = '2.105'

    def _traits(self, host):
        return self._get_provider_traits(self.compute_rp_uuids[host])

    def test_trait_only_on_package_computes(self):
        self.assertIn(base.TRAIT, self._traits('src'))
        self.assertIn(base.TRAIT, self._traits('dest'))
        self.assertNotIn(base.TRAIT, self._traits('stock'))

    def test_scheduler_never_picks_a_stock_compute(self):
        # Control: left to itself the scheduler prefers the stock compute.
        active = self._create_server(host='src', networks='none')
        self._live_migrate_action(active)
        self._wait_for_migration_status(active, ['completed'])
        self.assertEqual('stock', self._host_of(active))

        for _ in range(3):
            server = self._create_server(host='src', networks='none')
            server = self._rescue_server(server)
            spec_before = self._request_spec(server).obj_to_primitive()
            resp = self._live_migrate_action(server)
            self.assertEqual(202, resp.status)
            self._wait_for_migration_status(server, ['completed'])
            server = self._wait_for_state_change(server, 'RESCUE')
            self.assertEqual('dest', self._host_of(server))
            # Nothing of the steering was written to the database.
            self.assertEqual(spec_before,
                             self._request_spec(server).obj_to_primitive())
            self.assertNotIn('trait:' + base.TRAIT,
                             self._request_spec(server).flavor.extra_specs)
            server = self._unrescue_server(server)
            self.assertEqual('dest', self._host_of(server))

    def _assert_400_naming(self, resp, node, role):
        self.assertEqual(400, resp.status, resp.body)
        message = resp.body['badRequest']['message']
        self.assertIn(role, message)
        self.assertIn(base.TRAIT, message)
        if node:
            self.assertIn(' %s ' % node, message)
        return message

    def test_incapable_source_gets_400_naming_it(self):
        server = self._rescue_on_stock_compute(
            self._create_server(host='stock', networks='none'))
        resp = self._live_migrate_action(server, host='dest',
                                         check_response_status=[400])
        self._assert_400_naming(resp, 'stock', 'source compute node')
        resp = self._live_migrate_action(server, check_response_status=[400])
        self._assert_400_naming(resp, 'stock', 'source compute node')
        self.assertEqual('stock', self._host_of(server))
        self.assertEqual('RESCUE', self._show_server(server)['status'])
        self.assertEqual([], self._migrations_of(server))

    def test_incapable_destination_gets_400_naming_it(self):
        server = self._rescue_server(
            self._create_server(host='src', networks='none'))
        resp = self._live_migrate_action(server, host='stock',
                                         check_response_status=[400])
        self._assert_400_naming(resp, 'stock', 'destination compute node')
        self.assertEqual('src', self._host_of(server))
        self.assertEqual([], self._migrations_of(server))
        self.assertEqual([], self.migrations)

    def test_node_name_hidden_from_callers_not_allowed_to_see_it(self):
        server = self._rescue_on_stock_compute(
            self._create_server(host='stock', networks='none'))
        resp = self._live_migrate_action(server, api=self.manager_api,
                                         check_response_status=[400])
        message = self._assert_400_naming(resp, None, 'source compute node')
        self.assertNotIn('stock', message)
        # The same caller may live-migrate a capable rescued server.
        ok = self._rescue_server(self._create_server(host='src',
                                                     networks='none'))
        resp = self._live_migrate_action(ok, api=self.manager_api)
        self.assertEqual(202, resp.status)
        self._wait_for_migration_status(ok, ['completed'])
        self.assertEqual('dest', self._host_of(ok))

    def test_disabling_the_capability_removes_the_trait(self):
        self.flags(live_migrate_rescued=False, group='rescue_lm')
        self.restart_compute_service('dest')
        self.assertNotIn(base.TRAIT, self._traits('dest'))
        server = self._rescue_server(
            self._create_server(host='src', networks='none'))
        resp = self._live_migrate_action(server, host='dest',
                                         check_response_status=[400])
        self._assert_400_naming(resp, 'dest', 'destination compute node')

    def test_server_rescued_before_the_upgrade_unrescues_from_the_db(self):
        server = self._rescue_on_stock_compute(
            self._create_server(host='stock', networks='none'))
        instance_dir = self._instance_dir(server)
        unrescue_xml = os.path.join(instance_dir, 'unrescue.xml')
        self.assertTrue(os.path.exists(unrescue_xml))  # nova's own rescue
        # Whatever the file says must not matter: it is never read.
        with open(unrescue_xml, 'w') as f:
            f.write('<domain><name>not-this-one</name></domain>')

        self._drivers['stock'] = base.RESCUE_LM_DRIVER
        self.restart_compute_service('stock')
        self.assertIn(base.TRAIT, self._traits('stock'))

        server = self._unrescue_server(server)
        self.assertEqual('stock', self._host_of(server))
        disks = self._domain_disks('stock', server)
        self.assertEqual('vda', disks[0][0])
        self.assertTrue(disks[0][1].endswith('/disk'), disks)
        self.assertFalse(os.path.exists(unrescue_xml))
