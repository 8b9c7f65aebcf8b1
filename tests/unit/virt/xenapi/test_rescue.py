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

"""Spawn, rescue, unrescue and hard reboot, against the XAPI simulator."""

from nova.compute import power_state
from nova.compute import vm_states
from nova import exception

from nova_rescue_lm.virt.xenapi import session as xenapi_session
from tests.unit.virt.xenapi import base


class SpawnTest(base.XenAPIDriverTestCase):

    def setUp(self):
        super().setUp()
        self.driver = self.make_driver()

    def test_spawn_builds_one_running_vm_with_tagged_disks(self):
        inst = self.spawn(self.driver, self.make_instance(
            swap=512, ephemeral_gb=2))
        vm = self.the_vm(inst)
        self.assertEqual('Running', vm['power_state'])
        self.assertEqual('xs-a1', vm['resident_on'])
        self.assertEqual(inst.name, vm['name_label'])
        self.assertEqual('instance', vm['other_config']['nova_rescue_lm_role'])
        self.assertEqual(512 * 1024 * 1024, vm['memory'])
        disks = self.disks_of(inst)
        kinds = {cfg['nova_disk_type']: (uuid, cfg['nova_userdevice'])
                 for uuid, cfg in disks.items()}
        self.assertEqual({'root', 'swap', 'ephemeral'}, set(kinds))
        self.assertEqual([(0, kinds['root'][0], True),
                          (1, kinds['swap'][0], False),
                          (2, kinds['ephemeral'][0], False)],
                         self.layout(vm))
        root = kinds['root'][0]
        self.assertEqual(base.SERVER_BYTES, self.disk_bytes(
            root, len(base.SERVER_BYTES)))
        sizes = {v['uuid']: v['virtual_size'] for v in self.sim.vdis()}
        self.assertEqual(1024 ** 3, sizes[root])
        self.assertEqual(2 * 1024 ** 3, sizes[kinds['ephemeral'][0]])
        # XAPI got complete constructor records (the simulator is strict).
        self.assertEqual(set(), self.sim.omitted_fields)

    def test_get_info_and_power_cycle(self):
        inst = self.spawn(self.driver, self.make_instance())
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(inst).state)
        self.driver.power_off(inst)
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(inst).state)
        self.assertEqual('Halted', self.the_vm(inst)['power_state'])
        self.driver.power_off(inst)  # already off: nothing to do
        self.driver.power_on(self.context, inst, [])
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(inst).state)
        self.assertEqual('xs-a1', self.the_vm(inst)['resident_on'])

    def test_clean_power_off_when_asked_for(self):
        inst = self.spawn(self.driver, self.make_instance())
        self.driver.power_off(inst, timeout=30, retry_interval=1)
        self.assertEqual(1, self.sim.faults.count('VM.clean_shutdown'))
        self.assertEqual('Halted', self.the_vm(inst)['power_state'])

    def test_unknown_instance_is_not_found(self):
        inst = self.make_instance()
        self.assertRaises(exception.InstanceNotFound,
                          self.driver.get_info, inst)
        self.assertFalse(self.driver.instance_exists(inst))

    def test_qcow2_image_is_refused_and_nothing_is_left(self):
        inst = self.make_instance(image_ref=base.QCOW2_IMAGE)
        self.assertRaises(exception.ImageUnacceptable, self.spawn,
                          self.driver, inst)
        self.assertEqual([], self.vms_of(inst))
        self.assertEqual({}, self.disks_of(inst))

    def test_vhd_image_boots(self):
        from tests.xapisim import vhd
        data = b'VHD-GUEST' * 100
        image = self.add_image('1b1a2f3c-0000-4000-8000-0000000000dd',
                               vhd.make_dynamic(data, size=8 * 1024 ** 2),
                               disk_format='vhd')
        inst = self.spawn(self.driver, self.make_instance(
            image_ref=image, root_gb=0))
        root = self.layout(self.the_vm(inst))[0][1]
        self.assertEqual(data, self.disk_bytes(root, len(data)))
        sizes = {v['uuid']: v['virtual_size'] for v in self.sim.vdis()}
        self.assertEqual(8 * 1024 ** 2, sizes[root])

    def test_failed_start_leaves_nothing(self):
        self.sim.faults.inject('VM.start_on',
                               code='HOST_NOT_ENOUGH_FREE_MEMORY',
                               params=['536870912', '0'])
        inst = self.make_instance(swap=64)
        self.assertRaises(xenapi_session.Failure, self.spawn, self.driver,
                          inst)
        self.assertEqual([], self.vms_of(inst))
        self.assertEqual({}, self.disks_of(inst))

    def test_destroy_removes_vm_and_disks(self):
        inst = self.spawn(self.driver, self.make_instance(swap=64))
        self.driver.destroy(self.context, inst, [])
        self.assertEqual([], self.vms_of(inst))
        self.assertEqual({}, self.disks_of(inst))

    def test_destroy_keeping_disks(self):
        inst = self.spawn(self.driver, self.make_instance())
        self.driver.destroy(self.context, inst, [], destroy_disks=False)
        self.assertEqual([], self.vms_of(inst))
        self.assertEqual(1, len(self.disks_of(inst)))

    def test_each_compute_lists_its_host_only(self):
        other = self.make_driver(xapi_host='xs-a2')
        mine = self.spawn(self.driver, self.make_instance())
        theirs = self.spawn(other, self.make_instance())
        self.assertEqual([mine.uuid], self.driver.list_instance_uuids())
        self.assertEqual([theirs.uuid], other.list_instance_uuids())
        # A stopped VM still belongs to the host it was kept for.
        other.power_off(theirs)
        self.assertEqual([theirs.uuid], other.list_instance_uuids())

    def test_rebuild_never_stops_a_vm_running_on_another_host(self):
        # nova thinks the server is on xs-a2's compute; XAPI runs it on
        # xs-a1 (a migration nova never heard the end of, say).
        other = self.make_driver(xapi_host='xs-a2')
        inst = self.spawn(self.driver, self.make_instance())
        vm = self.the_vm(inst)
        for act in (lambda: other.reboot(self.context, inst, [], 'HARD'),
                    lambda: other.unrescue(self.context, inst)):
            exc = self.assertRaises(exception.NovaException, act)
            self.assertIn('runs on XAPI host xs-a1', str(exc))
        self.assertEqual((vm['ref'], 'Running', 'xs-a1'), (
            self.the_vm(inst)['ref'], self.the_vm(inst)['power_state'],
            self.the_vm(inst)['resident_on']))


class RescueTest(base.XenAPIDriverTestCase):

    def setUp(self):
        super().setUp()
        self.driver = self.make_driver()
        self.inst = self.spawn(self.driver, self.make_instance(
            swap=64, ephemeral_gb=1))
        self.original = self.layout(self.the_vm(self.inst))
        self.root = self.original[0][1]
        # What the guest wrote before the rescue must survive it.
        self.sim.write_vdi(self.root, b'GUEST-DATA', offset=4096)

    def rescue(self, image=base.RESCUE_IMAGE):
        self.driver.rescue(self.context, self.inst, [],
                           self.image_meta(image), 'pass', None, None)
        self.inst.vm_state = vm_states.RESCUED

    def assert_unrescued(self):
        vm = self.the_vm(self.inst)
        self.assertEqual('instance', vm['other_config']['nova_rescue_lm_role'])
        self.assertEqual('Running', vm['power_state'])
        self.assertEqual(self.original, self.layout(vm))
        self.assertEqual(
            {'root', 'swap', 'ephemeral'},
            {c['nova_disk_type'] for c in self.disks_of(self.inst).values()})
        self.assertEqual(b'GUEST-DATA', self.sim.vdi_bytes(self.root)[
            4096:4106])
        self.assertFalse([k for k in self.inst.system_metadata
                          if k.startswith('rescue_lm_')])

    def test_rescue_runs_one_rescue_vm_with_the_disks_after_the_rescue_disk(
            self):
        self.rescue()
        vm = self.the_vm(self.inst)
        self.assertEqual('rescue', vm['other_config']['nova_rescue_lm_role'])
        self.assertEqual('Running', vm['power_state'])
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(self.inst).state)
        layout = self.layout(vm)
        rescue_disk = layout[0][1]
        self.assertEqual((0, True), (layout[0][0], layout[0][2]))
        self.assertEqual(base.RESCUE_BYTES, self.disk_bytes(
            rescue_disk, len(base.RESCUE_BYTES)))
        self.assertEqual('rescue', self.disks_of(self.inst)[rescue_disk][
            'nova_disk_type'])
        self.assertEqual([(dev + 1, vdi, False)
                          for dev, vdi, _boot in self.original], layout[1:])
        self.assertEqual({'rescue_lm_image_ref': base.RESCUE_IMAGE,
                          'rescue_lm_mode': 'xenapi'},
                         self.inst.system_metadata)

    def test_unrescue_rebuilds_the_server_vm_from_the_database(self):
        self.rescue()
        self.driver.unrescue(self.context, self.inst)
        self.assert_unrescued()

    def test_unrescue_needs_nothing_but_the_tags(self):
        # No record of the original VM survives a rescue in XAPI: only the
        # disks' tags and the database describe it.
        self.rescue()
        names = [vm['name_label'] for vm in self.sim.vms()]
        self.assertEqual([self.inst.name + '-rescue'], names)
        self.driver.unrescue(self.context, self.inst)
        self.assert_unrescued()

    def test_rescue_of_a_stopped_server(self):
        self.driver.power_off(self.inst)
        self.rescue()
        self.assertEqual('Running', self.the_vm(self.inst)['power_state'])
        self.driver.unrescue(self.context, self.inst)
        self.assert_unrescued()

    def test_bad_rescue_image_leaves_the_server_running_untouched(self):
        self.assertRaises(exception.ImageUnacceptable, self.rescue,
                          base.QCOW2_IMAGE)
        self.inst.vm_state = vm_states.ACTIVE
        self.assert_unrescued()

    def test_failed_rescue_vm_start_restores_the_server(self):
        self.sim.faults.inject('VM.start_on', code='INTERNAL_ERROR',
                               params=['boom'], times=1)
        self.assertRaises(xenapi_session.Failure, self.rescue)
        self.inst.vm_state = vm_states.ACTIVE
        self.assert_unrescued()

    def test_rescue_twice_is_refused(self):
        self.rescue()
        self.assertRaises(exception.InstanceNotRescuable, self.rescue)
        self.assertEqual(1, len(self.vms_of(self.inst)))

    def test_hard_reboot_of_a_rescued_server_rebuilds_the_rescue_vm(self):
        self.rescue()
        rescue_disk = self.layout(self.the_vm(self.inst))[0][1]
        self.driver.reboot(self.context, self.inst, [], 'HARD')
        vm = self.the_vm(self.inst)
        self.assertEqual('rescue', vm['other_config']['nova_rescue_lm_role'])
        self.assertEqual(rescue_disk, self.layout(vm)[0][1])
        self.assertEqual([(dev + 1, vdi, False)
                          for dev, vdi, _boot in self.original],
                         self.layout(vm)[1:])

    def test_hard_reboot_of_a_rescued_server_without_its_rescue_disk(self):
        self.rescue()
        vm = self.the_vm(self.inst)
        # Gone, e.g. on a host the rescue disk could not be moved to: the
        # recorded rescue image gives it back.
        self.driver._session.call('VM.hard_shutdown', vm['ref'])
        self.driver._session.call('VM.destroy', vm['ref'])
        rescue_ref = [v['ref'] for v in self.sim.vdis()
                      if v['uuid'] == self.layout(vm)[0][1]][0]
        self.driver._session.call('VDI.destroy', rescue_ref)
        self.driver.reboot(self.context, self.inst, [], 'HARD')
        vm = self.the_vm(self.inst)
        self.assertEqual(base.RESCUE_BYTES, self.disk_bytes(
            self.layout(vm)[0][1], len(base.RESCUE_BYTES)))

    def test_hard_reboot_of_a_server_left_in_rescue_restores_it(self):
        # An operator reset a rescued server to error (or active); a hard
        # reboot then gives the server back its own VM.
        self.rescue()
        self.inst.vm_state = vm_states.ERROR
        self.driver.reboot(self.context, self.inst, [], 'HARD')
        self.assert_unrescued()

    def test_hard_reboot_rebuilds_a_lost_vm_record(self):
        vm = self.the_vm(self.inst)
        self.driver._session.call('VM.hard_shutdown', vm['ref'])
        self.driver._session.call('VM.destroy', vm['ref'])
        self.driver.reboot(self.context, self.inst, [], 'HARD')
        self.assert_unrescued()

    def test_hard_reboot_refuses_without_a_root_disk(self):
        root_ref = [v['ref'] for v in self.sim.vdis()
                    if v['uuid'] == self.root][0]
        vm = self.the_vm(self.inst)
        self.driver._session.call('VM.hard_shutdown', vm['ref'])
        self.driver._session.call('VM.destroy', vm['ref'])
        self.driver._session.call('VDI.destroy', root_ref)
        self.assertRaises(exception.InstanceRebootFailure,
                          self.driver.reboot, self.context, self.inst, [],
                          'HARD')
        self.assertEqual([], self.vms_of(self.inst))

    def test_soft_reboot_keeps_the_vm(self):
        ref = self.the_vm(self.inst)['ref']
        self.driver.reboot(self.context, self.inst, [], 'SOFT')
        self.assertEqual(ref, self.the_vm(self.inst)['ref'])
        self.assertEqual(1, self.sim.faults.count('VM.clean_reboot'))

    def test_destroy_of_a_rescued_server_removes_everything(self):
        self.rescue()
        self.driver.destroy(self.context, self.inst, [])
        self.assertEqual([], self.vms_of(self.inst))
        self.assertEqual({}, self.disks_of(self.inst))

    def test_host_boot_brings_back_the_vm_the_database_describes(self):
        self.rescue()
        vm = self.the_vm(self.inst)
        # The host rebooted: the VM is halted.
        self.driver._session.call('VM.hard_shutdown', vm['ref'])
        self.driver.resume_state_on_host_boot(self.context, self.inst, [],
                                              None)
        vm = self.the_vm(self.inst)
        self.assertEqual(('rescue', 'Running'), (
            vm['other_config']['nova_rescue_lm_role'], vm['power_state']))
        # Running already: left alone.
        self.driver.resume_state_on_host_boot(self.context, self.inst, [],
                                              None)
        self.assertEqual(vm['ref'], self.the_vm(self.inst)['ref'])

    def test_guest_without_shutdown_support_is_shut_down_hard(self):
        # XAPI refuses a clean shutdown to a running HVM guest without PV
        # drivers (VM_LACKS_FEATURE): the driver shuts it down hard.
        vm = self.the_vm(self.inst)
        self.sim.set_guest_agent(vm['uuid'], present=False)
        self.driver.power_off(self.inst, timeout=30)
        self.assertEqual(1, self.sim.faults.count('VM.clean_shutdown'))
        self.assertEqual(1, self.sim.faults.count('VM.hard_shutdown'))
        self.assertEqual('Halted', self.the_vm(self.inst)['power_state'])

    def test_guest_without_reboot_support_is_rebuilt(self):
        vm = self.the_vm(self.inst)
        self.sim.set_guest_agent(vm['uuid'], present=False)
        self.driver.reboot(self.context, self.inst, [], 'SOFT')
        self.assertEqual(1, self.sim.faults.count('VM.clean_reboot'))
        self.assert_unrescued()
        self.assertEqual('Running', self.the_vm(self.inst)['power_state'])
