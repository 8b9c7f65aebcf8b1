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

"""Driver overrides on the live-migration path: NIC model, stats marker."""

from unittest import mock

from nova.compute import vm_states
from nova import objects
from oslo_utils.fixture import uuidsentinel as uuids

from nova_rescue_lm import capability
from nova_rescue_lm.virt.libvirt import nic_model
from nova_rescue_lm.virt import rescue_record
from tests.unit.virt.libvirt import test_driver

OPERATION = ('nova.virt.libvirt.driver.LibvirtDriver.'
             '_live_migration_operation')


class LiveMigrationOperationTest(test_driver.DriverTestBase):

    def _guest_passed_to_nova(self, vm_state, sysmeta, vifs=True):
        instance = objects.Instance(uuid=uuids.instance, vm_state=vm_state,
                                    system_metadata=sysmeta)
        data = objects.LibvirtLiveMigrateData()
        if vifs:
            data.vifs = [objects.VIFMigrateData(port_id=uuids.port)]
        guest = mock.Mock(_domain=mock.sentinel.domain)
        with mock.patch(OPERATION) as nova_operation:
            self._driver()._live_migration_operation(
                mock.sentinel.ctxt, instance, 'dest', True, data, guest,
                ['vda'])
        args = nova_operation.call_args.args
        self.assertEqual(['vda'], args[6])
        return args[5]

    def test_legacy_rescue_keeps_the_running_nic_model(self):
        guest = self._guest_passed_to_nova(
            vm_states.RESCUED, {rescue_record.MODE: rescue_record.LEGACY})
        self.assertIsInstance(guest, nic_model.RescueGuest)
        self.assertIs(mock.sentinel.domain, guest._domain)

    def test_rescue_from_before_the_package_keeps_it_too(self):
        guest = self._guest_passed_to_nova(vm_states.RESCUED, {})
        self.assertIsInstance(guest, nic_model.RescueGuest)

    def test_stable_device_rescue_and_active_servers_are_left_alone(self):
        for state, sysmeta in (
                (vm_states.RESCUED,
                 {rescue_record.MODE: rescue_record.STABLE_DEVICE}),
                (vm_states.ACTIVE, {})):
            guest = self._guest_passed_to_nova(state, sysmeta)
            self.assertNotIsInstance(guest, nic_model.RescueGuest)

    def test_no_vifs_nothing_to_keep(self):
        guest = self._guest_passed_to_nova(vm_states.RESCUED, {}, vifs=False)
        self.assertNotIsInstance(guest, nic_model.RescueGuest)


class ResourceStatsTest(test_driver.DriverTestBase):

    def _stats(self):
        with mock.patch('nova.virt.libvirt.driver.LibvirtDriver.'
                        'get_available_resource',
                        return_value={'stats': {'uptime': 'x'}}):
            return self._driver().get_available_resource('node')['stats']

    def test_marker_follows_the_capability(self):
        self.assertEqual({'uptime': 'x', capability.STAT: 'True',
                          capability.STAT_EVACUATION: 'True'},
                         self._stats())
        self.flags(live_migrate_rescued=False, group='rescue_lm')
        self.assertEqual('False', self._stats()[capability.STAT])
        self.assertNotIn(capability.STAT_EVACUATION, self._stats())
