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

"""VDIs, VBDs and VIFs: device slots, attachment and sharing rules."""

from tests.xapisim_contract import base

NULL = base.NULL


class VDITest(base.ContractTestCase):

    def test_create_and_read_back(self):
        vdi = self.create_vdi(size_mb=32, other_config={'nova': 'root'})
        rec = self.x.VDI.get_record(vdi)
        self.assertEqual(str(32 * base.MiB), rec['virtual_size'])
        self.assertEqual(self.default_sr, rec['SR'])
        self.assertEqual({'nova': 'root'}, rec['other_config'])
        self.assertEqual('user', rec['type'])
        self.assertIn(vdi, self.x.SR.get_VDIs(self.default_sr))
        self.assertEqual(vdi, self.x.VDI.get_by_uuid(rec['uuid']))

    def test_create_on_an_unknown_sr(self):
        bogus = 'OpaqueRef:22222222-2222-2222-2222-222222222222'
        self.assertEqual(['HANDLE_INVALID', 'SR', bogus], self.assertFailure(
            'HANDLE_INVALID', self.create_vdi, 1, bogus))

    def test_destroy_a_vdi_in_use(self):
        vm = self.create_vm()
        vdi = self.create_vdi()
        self.attach(vm, vdi)
        self.x.VM.start(vm, False, False)
        self.assertEqual(['VDI_IN_USE', vdi, 'destroy'], self.assertFailure(
            'VDI_IN_USE', self.x.VDI.destroy, vdi))
        self.x.VM.hard_shutdown(vm)
        # Halted: the VDI goes, and its VBD with it.
        self.x.VDI.destroy(vdi)
        self.assertEqual([], self.x.VM.get_VBDs(vm))
        self.assertFailure('HANDLE_INVALID', self.x.VDI.get_record, vdi)

    def test_resize_grows(self):
        vdi = self.create_vdi(size_mb=8)
        self.x.VDI.resize(vdi, str(16 * base.MiB))
        self.assertEqual(str(16 * base.MiB), self.x.VDI.get_virtual_size(vdi))


class VBDTest(base.ContractTestCase):

    def test_userdevice_must_be_free(self):
        vm = self.create_vm()
        self.attach(vm, self.create_vdi(name='a'), userdevice='0')
        self.assertEqual(['DEVICE_ALREADY_EXISTS', '0'], self.assertFailure(
            'DEVICE_ALREADY_EXISTS', self.attach, vm,
            self.create_vdi(name='b'), '0'))

    def test_autodetect_takes_the_first_free_slot(self):
        vm = self.create_vm()
        self.attach(vm, self.create_vdi(name='a'), userdevice='0')
        self.attach(vm, self.create_vdi(name='b'), userdevice='2')
        vbd = self.attach(vm, self.create_vdi(name='c'),
                          userdevice='autodetect')
        self.assertEqual('1', self.x.VBD.get_userdevice(vbd))

    def test_invalid_userdevice(self):
        vm = self.create_vm()
        self.assertFailure('INVALID_DEVICE', self.attach, vm,
                           self.create_vdi(), 'disk-zero')

    def test_cd_must_be_read_only(self):
        vm = self.create_vm()
        self.assertFailure('VBD_CDS_MUST_BE_READONLY', self.attach, vm,
                           self.create_vdi(), '3', 'RW', 'CD')
        vbd = self.attach(vm, NULL, '3', 'RO', 'CD')
        self.assertTrue(self.x.VBD.get_empty(vbd))

    def test_empty_disk_is_refused(self):
        vm = self.create_vm()
        self.assertEqual(
            ['VBD_NOT_REMOVABLE_MEDIA', 'in constructor'],
            self.assertFailure('VBD_NOT_REMOVABLE_MEDIA', self.attach, vm,
                               NULL, '1', 'RW', 'Disk'))

    def test_rw_on_a_read_only_vdi(self):
        vm = self.create_vm()
        vdi = self.create_vdi(read_only=True)
        self.assertEqual(['VDI_READONLY', vdi], self.assertFailure(
            'VDI_READONLY', self.attach, vm, vdi, '0', 'RW'))
        self.attach(vm, vdi, '0', 'RO')

    def test_device_and_attachment_follow_the_vm(self):
        vm = self.create_vm()
        vbd = self.attach(vm, self.create_vdi(), '0', bootable=True)
        rec = self.x.VBD.get_record(vbd)
        self.assertFalse(rec['currently_attached'])
        self.x.VM.start(vm, False, False)
        rec = self.x.VBD.get_record(vbd)
        self.assertTrue(rec['currently_attached'])
        self.assertEqual('xvda', rec['device'])
        self.assertTrue(rec['bootable'])
        self.x.VM.hard_shutdown(vm)
        self.assertFalse(self.x.VBD.get_currently_attached(vbd))

    def test_attached_vbd_cannot_be_destroyed(self):
        vm = self.create_vm()
        vbd = self.attach(vm, self.create_vdi())
        self.x.VM.start(vm, False, False)
        self.assertFailure('OPERATION_NOT_ALLOWED', self.x.VBD.destroy, vbd)
        self.x.VM.hard_shutdown(vm)
        self.x.VBD.destroy(vbd)
        self.assertEqual([], self.x.VM.get_VBDs(vm))

    def test_plug_needs_a_running_vm(self):
        vm = self.create_vm()
        vbd = self.attach(vm, self.create_vdi(name='a'), '0')
        self.assertFailure('VM_BAD_POWER_STATE', self.x.VBD.plug, vbd)
        self.x.VM.start(vm, False, False)
        hot = self.attach(vm, self.create_vdi(name='b'), '1')
        self.assertFalse(self.x.VBD.get_currently_attached(hot))
        self.x.VBD.plug(hot)
        self.assertTrue(self.x.VBD.get_currently_attached(hot))
        self.x.VBD.unplug(hot)
        self.x.VBD.destroy(hot)

    def test_a_vdi_is_written_by_one_running_vm(self):
        vdi = self.create_vdi()
        first = self.create_vm(name='first')
        second = self.create_vm(name='second')
        self.attach(first, vdi)
        self.attach(second, vdi)
        self.x.VM.start(first, False, False)
        self.assertEqual(['VDI_IN_USE', vdi], self.assertFailure(
            'VDI_IN_USE', self.x.VM.start, second, False, False))
        self.assertEqual('Halted', self.x.VM.get_power_state(second))
        self.x.VM.hard_shutdown(first)
        self.x.VM.start(second, False, False)

    def test_read_only_and_sharable_vdis_can_be_shared(self):
        ro = self.create_vdi(name='ro')
        shared = self.create_vdi(name='shared', sharable=True)
        vms = [self.create_vm(name='s%d' % i) for i in range(2)]
        for vm in vms:
            self.attach(vm, ro, '0', 'RO')
            self.attach(vm, shared, '1', 'RW')
            self.x.VM.start(vm, False, False)
        self.assertEqual(['Running', 'Running'],
                         [self.x.VM.get_power_state(vm) for vm in vms])

    def test_vm_requires_an_sr_the_host_sees(self):
        self.sim_only('needs a local SR on one host of a two-host pool')
        local = self.sim.local_sr_ref('xs-a1')
        vm = self.create_vm()
        self.attach(vm, self.create_vdi(sr=local))
        self.assert_runs_on_xs_a1_only(vm, 'VM_REQUIRES_SR', local)


class VIFTest(base.ContractTestCase):

    def test_mac_is_generated_from_the_seed(self):
        vm = self.create_vm()
        vif = self.add_vif(vm, '0')
        mac = self.x.VIF.get_MAC(vif)
        parts = mac.split(':')
        self.assertEqual(6, len(parts))
        self.assertTrue(all(len(p) == 2 for p in parts))
        self.assertIn(vif, self.x.VM.get_VIFs(vm))
        self.assertIn(vif, self.x.network.get_VIFs(self.network()))

    def test_given_mac_is_kept_and_bad_macs_refused(self):
        vm = self.create_vm()
        vif = self.add_vif(vm, '0', mac='fa:16:3e:00:00:01')
        self.assertEqual('fa:16:3e:00:00:01', self.x.VIF.get_MAC(vif))
        self.assertEqual(['MAC_INVALID', 'not-a-mac'], self.assertFailure(
            'MAC_INVALID', self.add_vif, vm, '1', None, 'not-a-mac'))

    def test_device_slots(self):
        vm = self.create_vm()
        self.add_vif(vm, '0')
        self.assertEqual(['DEVICE_ALREADY_EXISTS', '0'], self.assertFailure(
            'DEVICE_ALREADY_EXISTS', self.add_vif, vm, '0'))
        self.assertEqual(['INVALID_DEVICE', 'eth1'], self.assertFailure(
            'INVALID_DEVICE', self.add_vif, vm, 'eth1'))
        self.assertNotIn('0', self.x.VM.get_allowed_VIF_devices(vm))

    def test_attached_vif_cannot_be_destroyed(self):
        vm = self.create_vm()
        vif = self.add_vif(vm, '0')
        self.x.VM.start(vm, False, False)
        self.assertTrue(self.x.VIF.get_currently_attached(vif))
        self.assertFailure('OPERATION_NOT_ALLOWED', self.x.VIF.destroy, vif)
        self.x.VIF.unplug(vif)
        self.x.VIF.destroy(vif)
        self.assertEqual([], self.x.VM.get_VIFs(vm))


class NetworkTest(base.ContractTestCase):

    def test_vm_requires_a_network_the_host_has(self):
        self.sim_only('needs a network on one host only')
        net = self.sim.add_network('only-a1', hosts=('xs-a1',))
        vm = self.create_vm()
        self.add_vif(vm, '0', network=net)
        self.assert_runs_on_xs_a1_only(vm, 'VM_REQUIRES_NET', net)
        self.assertEqual(
            ['HOST_CANNOT_ATTACH_NETWORK', self.sim.host_refs['xs-a2'], net],
            self.assertFailure('HOST_CANNOT_ATTACH_NETWORK',
                               self.x.host.migrate_receive,
                               self.sim.host_refs['xs-a2'], net, {}))

    def test_internal_network(self):
        net = self.x.network.create({
            'name_label': base.PREFIX + 'internal', 'name_description': '',
            'MTU': '1500', 'other_config': {}, 'tags': []})
        self.addCleanup(self.x.network.destroy, net)
        self.assertEqual([], self.x.network.get_PIFs(net))
        vm = self.create_vm()
        vif = self.add_vif(vm, '0', network=net)
        self.x.VM.start(vm, False, False)
        self.assertEqual('Running', self.x.VM.get_power_state(vm))
        self.assertEqual(['NETWORK_CONTAINS_VIF', vif], self.assertFailure(
            'NETWORK_CONTAINS_VIF', self.x.network.destroy, net))
        self.x.VM.hard_shutdown(vm)
        self.x.VIF.destroy(vif)
