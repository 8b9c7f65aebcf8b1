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

"""VM.create and the power-state machine."""

from tests.xapisim_contract import base

NULL = base.NULL


class VMCreateTest(base.ContractTestCase):

    def test_create_gives_a_halted_vm_with_a_mac_seed(self):
        vm = self.create_vm(other_config={'nova_uuid': 'abc'})
        rec = self.x.VM.get_record(vm)
        self.assertEqual('Halted', rec['power_state'])
        self.assertEqual(NULL, rec['resident_on'])
        self.assertEqual('abc', rec['other_config']['nova_uuid'])
        # XAPI adds a MAC seed to other_config.
        self.assertIn('mac_seed', rec['other_config'])
        self.assertEqual(str(256 * base.MiB), rec['memory_static_max'])
        self.assertEqual([], rec['VBDs'])

    def test_create_ignores_blocked_operations(self):
        vm = self.x.VM.create(base.vm_record(
            base.PREFIX + 'blocked', blocked_operations={'start': 'true'}))
        self.addCleanup(self._destroy_vm, self.x, vm)
        self.assertEqual({}, self.x.VM.get_blocked_operations(vm))

    def test_create_needs_the_full_record(self):
        details = self.assertFailure('INTERNAL_ERROR', self.x.VM.create,
                                     {'name_label': base.PREFIX + 'bare'})
        self.assertIn('FieldNotFound', details[1])

    def test_lenient_simulator_remembers_omitted_fields(self):
        self.sim_only('omitted_fields is a simulator report')
        from tests.xapisim import Simulator
        sim = Simulator(hosts=('h',)).start()
        self.addCleanup(sim.stop)
        s = base.session(sim.url)
        self.addCleanup(self._logout, s)
        rec = base.vm_record('lenient')
        del rec['PV_args']
        s.xenapi.VM.create(rec)
        self.assertEqual({'VM.PV_args'}, sim.omitted_fields)

    def test_bad_enum_is_invalid_value(self):
        rec = base.vm_record(base.PREFIX + 'enum',
                             actions_after_crash='explode')
        self.assertFailure('INVALID_VALUE', self.x.VM.create, rec)


class PowerStateTest(base.ContractTestCase):

    def test_start_and_shutdown(self):
        vm = self.create_vm()
        self.x.VM.start(vm, False, False)
        rec = self.x.VM.get_record(vm)
        self.assertEqual('Running', rec['power_state'])
        self.assertIn(rec['resident_on'], self.x.host.get_all())
        self.x.VM.clean_shutdown(vm)
        rec = self.x.VM.get_record(vm)
        self.assertEqual('Halted', rec['power_state'])
        self.assertEqual(NULL, rec['resident_on'])

    def test_start_a_running_vm(self):
        vm = self.create_vm()
        self.x.VM.start(vm, False, False)
        self.assertEqual(['VM_BAD_POWER_STATE', vm, 'halted', 'running'],
                         self.assertFailure('VM_BAD_POWER_STATE',
                                            self.x.VM.start, vm, False,
                                            False))

    def test_shutdown_a_halted_vm(self):
        vm = self.create_vm()
        self.assertEqual(['VM_BAD_POWER_STATE', vm, 'running', 'halted'],
                         self.assertFailure('VM_BAD_POWER_STATE',
                                            self.x.VM.clean_shutdown, vm))
        self.assertEqual(
            ['VM_BAD_POWER_STATE', vm, 'paused, suspended, running',
             'halted'],
            self.assertFailure('VM_BAD_POWER_STATE',
                               self.x.VM.hard_shutdown, vm))

    def test_start_paused_pause_unpause(self):
        vm = self.create_vm()
        self.x.VM.start(vm, True, False)
        self.assertEqual('Paused', self.x.VM.get_power_state(vm))
        self.assertFailure('VM_BAD_POWER_STATE', self.x.VM.pause, vm)
        self.x.VM.unpause(vm)
        self.assertEqual('Running', self.x.VM.get_power_state(vm))
        self.x.VM.pause(vm)
        self.assertEqual(['VM_BAD_POWER_STATE', vm, 'running', 'paused'],
                         self.assertFailure('VM_BAD_POWER_STATE',
                                            self.x.VM.clean_shutdown, vm))
        self.x.VM.hard_shutdown(vm)
        self.assertEqual('Halted', self.x.VM.get_power_state(vm))

    def test_reboots_keep_it_running(self):
        vm = self.create_vm()
        self.x.VM.start(vm, False, False)
        host = self.x.VM.get_resident_on(vm)
        self.x.VM.clean_reboot(vm)
        self.x.VM.hard_reboot(vm)
        self.assertEqual('Running', self.x.VM.get_power_state(vm))
        self.assertEqual(host, self.x.VM.get_resident_on(vm))
        self.x.VM.hard_shutdown(vm)
        self.assertEqual(
            ['VM_BAD_POWER_STATE', vm, 'paused, running', 'halted'],
            self.assertFailure('VM_BAD_POWER_STATE', self.x.VM.hard_reboot,
                               vm))

    def test_suspend_and_resume(self):
        self.sim_only('a real guest needs PV drivers to suspend')
        vm = self.create_vm()
        vdi = self.create_vdi()
        self.attach(vm, vdi)
        self.x.VM.start(vm, False, False)
        self.x.VM.suspend(vm)
        rec = self.x.VM.get_record(vm)
        self.assertEqual('Suspended', rec['power_state'])
        self.assertEqual(NULL, rec['resident_on'])
        # Disks stay in use while suspended.
        self.assertFailure('VDI_IN_USE', self.x.VDI.destroy, vdi)
        self.assertEqual(['VM_BAD_POWER_STATE', vm, 'halted', 'suspended'],
                         self.assertFailure('VM_BAD_POWER_STATE',
                                            self.x.VM.start, vm, False,
                                            False))
        self.x.VM.resume_on(vm, self.master, False, False)
        self.assertEqual('Running', self.x.VM.get_power_state(vm))
        self.assertEqual(self.master, self.x.VM.get_resident_on(vm))
        self.x.VM.suspend(vm)
        self.x.VM.hard_shutdown(vm)
        self.assertEqual('Halted', self.x.VM.get_power_state(vm))
        self.x.VDI.destroy(vdi)

    def test_destroy_a_running_vm(self):
        vm = self.create_vm()
        self.x.VM.start(vm, False, False)
        self.assertEqual(
            ['VM_BAD_POWER_STATE', vm, 'halted, suspended', 'running'],
            self.assertFailure('VM_BAD_POWER_STATE', self.x.VM.destroy, vm))

    def test_destroy_removes_vbds_and_vifs_but_keeps_vdis(self):
        vm = self.create_vm()
        vdi = self.create_vdi()
        vbd = self.attach(vm, vdi)
        vif = self.add_vif(vm)
        self.x.VM.destroy(vm)
        self.assertFailure('HANDLE_INVALID', self.x.VM.get_record, vm)
        self.assertFailure('HANDLE_INVALID', self.x.VBD.get_record, vbd)
        self.assertFailure('HANDLE_INVALID', self.x.VIF.get_record, vif)
        self.assertEqual([], self.x.VDI.get_VBDs(vdi))

    def test_blocked_operation(self):
        vm = self.create_vm()
        self.x.VM.add_to_blocked_operations(vm, 'start', 'rescue')
        # The error carries the blocked_operations value.
        self.assertEqual(['OPERATION_BLOCKED', vm, 'rescue'],
                         self.assertFailure('OPERATION_BLOCKED',
                                            self.x.VM.start, vm, False,
                                            False))
        self.assertNotIn('start', self.x.VM.get_allowed_operations(vm))
        self.x.VM.remove_from_blocked_operations(vm, 'start')
        self.x.VM.start(vm, False, False)
        self.assertEqual('Running', self.x.VM.get_power_state(vm))

    def test_blocked_is_checked_before_the_power_state(self):
        vm = self.create_vm()
        self.x.VM.set_blocked_operations(vm, {'clean_shutdown': 'true'})
        self.assertEqual(['OPERATION_BLOCKED', vm, 'true'],
                         self.assertFailure('OPERATION_BLOCKED',
                                            self.x.VM.clean_shutdown, vm))

    def test_blocked_destroy_and_start_on(self):
        vm = self.create_vm()
        self.x.VM.set_blocked_operations(vm, {'destroy': 'true',
                                              'start_on': 'true'})
        self.assertFailure('OPERATION_BLOCKED', self.x.VM.destroy, vm)
        self.assertFailure('OPERATION_BLOCKED', self.x.VM.start_on, vm,
                           self.master, False, False)
        self.x.VM.set_blocked_operations(vm, {})

    def test_templates_do_not_start(self):
        template = [ref for ref, rec in self.x.VM.get_all_records().items()
                    if rec['is_a_template']][0]
        details = self.assertFailure('VM_IS_TEMPLATE', self.x.VM.start,
                                     template, False, False)
        self.assertEqual(['VM_IS_TEMPLATE', template, 'start'], details)
        self.assertFailure('VM_IS_TEMPLATE', self.x.VM.destroy, template)

    def test_control_domains_are_not_guests(self):
        dom0 = [ref for ref, rec in self.x.VM.get_all_records().items()
                if rec['is_control_domain']][0]
        self.assertEqual('Running', self.x.VM.get_power_state(dom0))
        self.assertFailure('OPERATION_NOT_ALLOWED', self.x.VM.clean_reboot,
                           dom0)

    def test_start_on_a_chosen_host(self):
        hosts = self.need_hosts(2)
        vm = self.create_vm()
        self.x.VM.start_on(vm, hosts[1], False, False)
        self.assertEqual(hosts[1], self.x.VM.get_resident_on(vm))
        self.assertIn(vm, self.x.host.get_resident_VMs(hosts[1]))

    def test_not_enough_memory(self):
        host = self.master
        free = int(self.x.host.compute_free_memory(host))
        vm = self.create_vm(memory_mb=free // base.MiB + 1024)
        details = self.assertFailure('HOST_NOT_ENOUGH_FREE_MEMORY',
                                     self.x.VM.start_on, vm, host, False,
                                     False)
        self.assertGreater(int(details[1]), int(details[2]))
        self.assertEqual('Halted', self.x.VM.get_power_state(vm))

    def test_memory_accounting(self):
        self.sim_only('exact free memory is the simulator model')
        host = self.sim.host_refs['xs-a1']
        vm = self.create_vm(memory_mb=4096)
        self.x.VM.start_on(vm, host, False, False)
        self.assertEqual(str(12288 * base.MiB),
                         self.x.host.compute_free_memory(host))
        big = self.create_vm(name='big', memory_mb=12289)
        self.assertEqual(
            ['HOST_NOT_ENOUGH_FREE_MEMORY', str(12289 * base.MiB),
             str(12288 * base.MiB)],
            self.assertFailure('HOST_NOT_ENOUGH_FREE_MEMORY',
                               self.x.VM.start_on, big, host, False,
                               False))
        # VM.start looks for a host with room.
        self.x.VM.start(big, False, False)
        self.assertEqual(self.sim.host_refs['xs-a2'],
                         self.x.VM.get_resident_on(big))

    def test_memory_constraints(self):
        vm = self.create_vm()
        self.x.VM.set_memory_limits(vm, str(128 * base.MiB),
                                    str(512 * base.MiB),
                                    str(256 * base.MiB),
                                    str(512 * base.MiB))
        rec = self.x.VM.get_record(vm)
        self.assertEqual(str(512 * base.MiB), rec['memory_static_max'])
        self.assertEqual(str(256 * base.MiB), rec['memory_dynamic_min'])
        self.assertFailure('MEMORY_CONSTRAINT_VIOLATION',
                           self.x.VM.set_memory_limits, vm,
                           str(512 * base.MiB), str(128 * base.MiB),
                           str(256 * base.MiB), str(256 * base.MiB))

    def test_static_memory_and_vcpus_need_a_halted_vm(self):
        vm = self.create_vm(vcpus=1)
        self.x.VM.set_VCPUs_max(vm, '2')
        self.x.VM.set_VCPUs_at_startup(vm, '2')
        self.x.VM.set_memory_static_max(vm, str(512 * base.MiB))
        self.x.VM.start(vm, False, False)
        self.assertEqual(['VM_BAD_POWER_STATE', vm, 'halted', 'running'],
                         self.assertFailure(
                             'VM_BAD_POWER_STATE',
                             self.x.VM.set_memory_static_max, vm,
                             str(1024 * base.MiB)))
        self.assertFailure('VM_BAD_POWER_STATE', self.x.VM.set_VCPUs_max,
                           vm, '4')

    def test_vm_metrics_follow_the_power_state(self):
        vm = self.create_vm(memory_mb=512, vcpus=2)
        self.x.VM.start(vm, False, False)
        metrics = self.x.VM_metrics.get_record(self.x.VM.get_metrics(vm))
        self.assertEqual(str(512 * base.MiB), metrics['memory_actual'])
        self.assertEqual('2', metrics['VCPUs_number'])

    def test_vm_uuid_and_domid(self):
        vm = self.create_vm()
        uuid = self.x.VM.get_uuid(vm)
        self.assertEqual(vm, self.x.VM.get_by_uuid(uuid))
        self.x.VM.start(vm, False, False)
        self.assertGreater(int(self.x.VM.get_domid(vm)), 0)
        self.x.VM.hard_shutdown(vm)
        self.assertEqual('-1', self.x.VM.get_domid(vm))
