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

"""What the driver reports about its host, and how it is configured."""

import fixtures
from nova.compute import provider_tree
from nova import exception
import os_resource_classes as orc

from nova_rescue_lm import capability
from nova_rescue_lm.virt.xenapi import driver
from nova_rescue_lm.virt.xenapi import session as xenapi_session
from tests.unit.virt.xenapi import base


class HostReportTest(base.XenAPIDriverTestCase):

    def test_resources_of_the_managed_host(self):
        drv = self.make_driver(xapi_host='xs-a2')
        self.assertEqual(['xs-a2'], drv.get_available_nodes())
        res = drv.get_available_resource('xs-a2')
        self.assertEqual(
            {'vcpus': 8, 'memory_mb': 16384, 'local_gb': 200,
             'hypervisor_type': 'xen', 'hypervisor_hostname': 'xs-a2',
             'hypervisor_version': 8002001},
            {k: res[k] for k in ('vcpus', 'memory_mb', 'local_gb',
                                 'hypervisor_type', 'hypervisor_hostname',
                                 'hypervisor_version')})
        self.assertEqual({capability.STAT: 'True'}, res['stats'])
        self.assertEqual('127.0.0.2', drv.get_host_ip_addr())

    def test_usage_follows_the_vms(self):
        drv = self.make_driver()
        self.spawn(drv, self.make_instance())
        res = drv.get_available_resource('xs-a1')
        self.assertEqual(512, res['memory_mb_used'])
        self.assertEqual(1, res['vcpus_used'])
        self.assertEqual(1, res['local_gb_used'])

    def test_provider_tree_inventory(self):
        drv = self.make_driver()
        tree = provider_tree.ProviderTree()
        tree.new_root('xs-a1', 'c9d7e0a4-1e4b-4c4c-8a0f-6c1b3a2b7a01')
        drv.update_provider_tree(tree, 'xs-a1')
        inv = tree.data('xs-a1').inventory
        self.assertEqual({orc.VCPU: 8, orc.MEMORY_MB: 16384,
                          orc.DISK_GB: 200},
                         {rc: inv[rc]['total'] for rc in inv})

    def test_trait_follows_the_option(self):
        drv = self.make_driver()
        self.assertIs(True, drv.capabilities_as_traits()[capability.TRAIT])
        self.assertIs(True, drv.capabilities['supports_image_type_vhd'])
        self.flags(live_migrate_rescued=False, group='rescue_lm')
        drv = self.make_driver()
        self.assertIs(False, drv.capabilities_as_traits()[capability.TRAIT])
        self.assertEqual(
            capability.stats_marker(
                False, '[rescue_lm] live_migrate_rescued is False'),
            drv.get_available_resource('xs-a1')['stats'])

    def test_waiting_for_vif_plug_withholds_the_trait_and_says_why(self):
        # nova's default: a source would wait for network-vif-plugged
        # events that XAPI's migration causes only at the end, and time out.
        self.flags(live_migration_wait_for_vif_plug=True, group='compute')
        log = self.useFixture(fixtures.FakeLogger(level='WARNING'))
        drv = self.make_driver()
        self.assertIs(False, drv.capabilities_as_traits()[capability.TRAIT])
        self.assertIs(False, drv.capabilities[capability.CAPABILITY])
        stats = drv.get_available_resource('xs-a1')['stats']
        self.assertEqual('False', stats[capability.STAT])
        self.assertIn('[compute] live_migration_wait_for_vif_plug is True',
                      stats[capability.STAT_REASON])
        self.assertIn('does not report the %s trait' % capability.TRAIT,
                      log.output)
        self.assertIn('live_migration_wait_for_vif_plug', log.output)

    def test_node_uuid_is_nova_s_local_identity(self):
        drv = self.make_driver()
        self.useFixture(fixtures.MockPatch(
            'nova.virt.node.get_local_node_uuid',
            return_value='2c0b8f54-9d1a-4f0c-8b7e-0a1b2c3d4e5f'))
        self.assertEqual({'2c0b8f54-9d1a-4f0c-8b7e-0a1b2c3d4e5f': 'xs-a1'},
                         drv.get_nodenames_by_uuid())


class ConfigurationTest(base.XenAPIDriverTestCase):

    def test_connection_url_is_required(self):
        self.flags(connection_url=None, group='xenserver')
        exc = self.assertRaises(exception.InvalidInput,
                                driver.XenAPIDriver, None)
        self.assertIn('[xenserver] connection_url', str(exc))

    def test_unknown_xapi_host_stops_the_service(self):
        exc = self.assertRaises(exception.NovaException, self.make_driver,
                                xapi_host='xs-nowhere')
        self.assertIn('xs-nowhere', str(exc))

    def test_host_given_by_uuid(self):
        uuid = base.xapi_call(self.sim, 'host.get_uuid',
                              self.sim.host_refs['xs-a2'])
        self.assertEqual(['xs-a2'],
                         self.make_driver(xapi_host=uuid)
                         .get_available_nodes())

    def test_default_host_is_the_one_logged_in_to(self):
        self.assertEqual(['xs-a1'],
                         self.make_driver(xapi_host=None)
                         .get_available_nodes())

    def test_member_url_manages_that_member_through_the_master(self):
        # A deployer points each compute at its own host; XAPI sends the
        # login to the pool master, and the compute still manages its host.
        drv = self.make_driver(
            xapi_host=None, connection_url=self.sim.member_url('xs-a2'))
        self.assertEqual(['xs-a2'], drv.get_available_nodes())
        self.assertEqual(
            1, self.sim.faults.count('session.login_with_password@member'))
        self.assertEqual('127.0.0.2', drv.get_host_ip_addr())

    def test_xapi_host_wins_over_the_member_url(self):
        drv = self.make_driver(
            xapi_host='xs-a1', connection_url=self.sim.member_url('xs-a2'))
        self.assertEqual(['xs-a1'], drv.get_available_nodes())

    def test_wrong_password_stops_the_service(self):
        self.assertRaises(xenapi_session.XenAPIConnectionError,
                          self.make_driver, connection_password='nope')
