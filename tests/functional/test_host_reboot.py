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

"""A compute host comes back (``resume_guests_state_on_host_boot``)."""

import fixtures
from nova import objects
from nova.tests import fixtures as nova_fixtures
from nova.tests.fixtures import libvirt as fakelibvirt

from tests.functional import base

STABLE_RESCUE_IMAGE = '7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d0e'


class TestHostReboot(base.RescueLiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.flags(resume_guests_state_on_host_boot=True)
        self.start_compute('compute-a')
        self.start_compute('compute-b')

    def _reboot_host(self, hostname):
        """Power loss: every domain stops (and stays defined), then
        nova-compute starts again.
        """
        conn = self.computes[hostname].driver._host.get_connection()
        for dom in list(conn._running_vms.values()):
            dom.destroy()
        self.restart_compute_service(hostname)

    def _domain_state(self, hostname, server):
        conn = self.computes[hostname].driver._host.get_connection()
        return conn.lookupByUUIDString(server['id']).info()[0]

    def _assert_back(self, hostname, server, status, disks):
        server = self._show_server(server)
        self.assertEqual((status, hostname),
                         (server['status'], self._host_of(server)))
        self.assertEqual(fakelibvirt.VIR_DOMAIN_RUNNING,
                         self._domain_state(hostname, server))
        self.assertEqual(disks, self._domain_disks(hostname, server))

    def test_rescued_server_comes_back_in_its_rescue_domain(self):
        server = self._create_server(host='compute-a', networks='none')
        root = self._domain_disks('compute-a', server)
        server = self._rescue_server(server)
        rescue = self._domain_disks('compute-a', server)
        self.assertNotEqual(root, rescue)

        self._reboot_host('compute-a')
        self._assert_back('compute-a', server, 'RESCUE', rescue)
        server = self._unrescue_server(server)
        self._assert_back('compute-a', server, 'ACTIVE', root)

    def test_after_a_live_migration_on_the_destination(self):
        server = self._create_server(host='compute-a', networks='none')
        server = self._rescue_server(server)
        rescue = self._domain_disks('compute-a', server)
        self._live_migrate_action(server, host='compute-b')
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'RESCUE')

        self._reboot_host('compute-b')
        self._assert_back('compute-b', server, 'RESCUE', rescue)

    def test_boot_from_volume_comes_back_with_its_volume_connected(self):
        """A stable-device rescue domain holds the server's volumes: their
        host connections (iSCSI, FC) are gone after a power loss.
        """
        connected = []
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.volume.volume.LibvirtFakeVolumeDriver.'
            'connect_volume',
            lambda drv, connection_info, instance:
                connected.append(connection_info['serial'])))
        self._register_image(STABLE_RESCUE_IMAGE, 16 * 1024 * 1024,
                             hw_rescue_device='disk', hw_rescue_bus='virtio')
        server = self._build_server(networks='none', host='compute-a')
        server.pop('imageRef')
        volume = nova_fixtures.CinderFixture.IMAGE_BACKED_VOL
        server['block_device_mapping_v2'] = [{
            'source_type': 'volume', 'destination_type': 'volume',
            'boot_index': 0, 'uuid': volume}]
        server = self._wait_for_state_change(
            self.api.post_server({'server': server}), 'ACTIVE')
        self.api.post_server_action(server['id'], {'rescue': {
            'rescue_image_ref': STABLE_RESCUE_IMAGE}})
        server = self._wait_for_state_change(server, 'RESCUE')
        rescue = self._domain_disks('compute-a', server)

        del connected[:]
        self._reboot_host('compute-a')
        self.assertEqual([volume], connected)
        self._assert_back('compute-a', server, 'RESCUE', rescue)

    def _migration_cut_after_libvirt_finished(self, server):
        """nova-compute of compute-a died during a live migration to
        compute-b; libvirt finished it alone (the domain left compute-a,
        runs on compute-b); the database still names compute-a.
        """
        dest_node = objects.ComputeNode.get_by_host_and_nodename(
            self.ctxt, 'compute-b', 'compute-b')
        migration = objects.Migration(
            context=self.ctxt, instance_uuid=server['id'],
            source_compute='compute-a', source_node='compute-a',
            dest_compute='compute-b', dest_node='compute-b',
            dest_compute_id=dest_node.id,
            migration_type='live-migration', status='running')
        migration.create()
        src = self.computes['compute-a'].driver._host.get_connection()
        dst = self.computes['compute-b'].driver._host.get_connection()
        dom = src.lookupByUUIDString(server['id'])
        xml = dom.XMLDesc(0)
        dom.destroy()
        dom.undefine()
        dst.defineXML(xml).create()
        # compute-a's driver asks compute-b's libvirt over the migration URI
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.driver.libvirt.openReadOnly',
            lambda uri: self.computes[
                'compute-b' if '//compute-b/' in uri
                else 'compute-a'].driver._host.get_connection()))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Connection.close', lambda conn: 0,
            ))
        return migration

    def test_rescued_server_left_by_a_cut_migration_is_not_started(self):
        server = self._rescue_server(
            self._create_server(host='compute-a', networks='none'))
        rescue = self._domain_disks('compute-a', server)
        self._migration_cut_after_libvirt_finished(server)

        self.restart_compute_service('compute-a')
        conn = self.computes['compute-a'].driver._host.get_connection()
        # no second copy on compute-a (nova would have booted the root)
        self.assertRaises(fakelibvirt.libvirtError,
                          conn.lookupByUUIDString, server['id'])
        self.assertEqual(fakelibvirt.VIR_DOMAIN_RUNNING,
                         self._domain_state('compute-b', server))
        self.assertEqual(rescue, self._domain_disks('compute-b', server))
        self.assertEqual('RESCUE', self._show_server(server)['status'])
        self.assertIn('its live migration to compute-b was cut',
                      self.stdlog.logger.output)

    def test_active_server_comes_back_as_nova_brings_it(self):
        server = self._create_server(host='compute-a', networks='none')
        root = self._domain_disks('compute-a', server)
        self._reboot_host('compute-a')
        self._assert_back('compute-a', server, 'ACTIVE', root)
