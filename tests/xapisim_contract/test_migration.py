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

"""Live migration: VM.pool_migrate inside a pool, storage motion
(host.migrate_receive, VM.assert_can_migrate, VM.migrate_send) across.
"""

import threading
import time
import xmlrpc.client

from os_xenapi.client import XenAPI

from tests.xapisim_contract import base

MiB = base.MiB


class PoolMigrateTest(base.ContractTestCase):

    def _running_vm(self, host, sr=None, **kw):
        vm = self.create_vm(**kw)
        self.attach(vm, self.create_vdi(sr=sr), '0', bootable=True)
        self.add_vif(vm)
        self.x.VM.start_on(vm, host, False, False)
        return vm

    def _shared_sr(self):
        for sr, rec in self.x.SR.get_all_records().items():
            if rec['shared'] and rec['content_type'] == 'user':
                return sr
        self.skipTest('the pool has no shared SR')

    def test_moves_a_running_vm_on_shared_storage(self):
        h1, h2 = self.need_hosts(2)[:2]
        vm = self._running_vm(h1, sr=self._shared_sr())
        self.x.VM.pool_migrate(vm, h2, {'live': 'true'})
        rec = self.x.VM.get_record(vm)
        self.assertEqual(h2, rec['resident_on'])
        self.assertEqual('Running', rec['power_state'])
        self.assertIn(vm, self.x.host.get_resident_VMs(h2))
        self.assertNotIn(vm, self.x.host.get_resident_VMs(h1))

    def test_needs_a_running_vm(self):
        h1, h2 = self.need_hosts(2)[:2]
        vm = self.create_vm()
        self.assertEqual(['VM_BAD_POWER_STATE', vm, 'running', 'halted'],
                         self.assertFailure('VM_BAD_POWER_STATE',
                                            self.x.VM.pool_migrate, vm, h2,
                                            {}))

    def test_needs_storage_the_target_sees(self):
        self.sim_only('needs a local SR on one host of a two-host pool')
        h1, h2 = self.sim.host_refs['xs-a1'], self.sim.host_refs['xs-a2']
        local = self.sim.local_sr_ref('xs-a1')
        vm = self._running_vm(h1, sr=local)
        self.assertEqual(['VM_REQUIRES_SR', vm, local], self.assertFailure(
            'VM_REQUIRES_SR', self.x.VM.pool_migrate, vm, h2, {}))
        self.assertEqual(h1, self.x.VM.get_resident_on(vm))

    def test_needs_memory_on_the_target(self):
        self.sim_only('needs a known amount of free memory on the target')
        h1, h2 = self.sim.host_refs['xs-a1'], self.sim.host_refs['xs-a2']
        filler = self.create_vm(name='filler', memory_mb=15000)
        self.x.VM.start_on(filler, h2, False, False)
        vm = self._running_vm(h1, sr=self._shared_sr(), memory_mb=2048)
        details = self.assertFailure('HOST_NOT_ENOUGH_FREE_MEMORY',
                                     self.x.VM.pool_migrate, vm, h2, {})
        self.assertEqual([str(2048 * MiB), str((16384 - 15000) * MiB)],
                         details[1:])
        self.assertEqual(h1, self.x.VM.get_resident_on(vm))

    def test_blocked(self):
        h1, h2 = self.need_hosts(2)[:2]
        vm = self._running_vm(h1, sr=self._shared_sr())
        self.x.VM.add_to_blocked_operations(vm, 'pool_migrate', 'true')
        self.assertFailure('OPERATION_BLOCKED', self.x.VM.pool_migrate, vm,
                           h2, {})

    def test_injected_failure_then_success(self):
        self.sim_only('fault injection')
        h1, h2 = self.sim.host_refs['xs-a1'], self.sim.host_refs['xs-a2']
        vm = self._running_vm(h1, sr=self._shared_sr())
        self.sim.faults.inject('VM.pool_migrate', code='INTERNAL_ERROR',
                               params=['boom'])
        self.assertEqual(['INTERNAL_ERROR', 'boom'], self.assertFailure(
            'INTERNAL_ERROR', self.x.VM.pool_migrate, vm, h2, {}))
        self.assertEqual(h1, self.x.VM.get_resident_on(vm))
        self.x.VM.pool_migrate(vm, h2, {})
        self.assertEqual(h2, self.x.VM.get_resident_on(vm))

    def _pool_migration_under_way(self):
        """(h1, h2, vm, task): a live Async.VM.pool_migrate from h1 to h2
        that takes 0.5 s, started and seen in the VM's current_operations.
        """
        self.sim_only('needs a migration that takes a known time')
        h1, h2 = self.sim.host_refs['xs-a1'], self.sim.host_refs['xs-a2']
        vm = self._running_vm(h1, sr=self._shared_sr())
        self.sim.migration_seconds = 0.5
        self.addCleanup(setattr, self.sim, 'migration_seconds', 0)
        task = self.x.Async.VM.pool_migrate(vm, h2, {'live': 'true'})
        deadline = time.monotonic() + 10
        while (not self.x.VM.get_current_operations(vm) and
               time.monotonic() < deadline):
            time.sleep(0.01)
        return h1, h2, vm, task

    def test_async_pool_migrate_outlives_its_cancelled_task(self):
        # xapi_task.ml: task.cancel only asks; a migration that goes on
        # shows in the VM's current_operations and completes.
        h1, h2, vm, task = self._pool_migration_under_way()
        self.assertEqual({task: 'pool_migrate'},
                         self.x.VM.get_current_operations(vm))
        self.assertEqual(h1, self.x.VM.get_resident_on(vm))
        self.assertFailure('OTHER_OPERATION_IN_PROGRESS',
                           self.x.VM.clean_shutdown, vm)
        self.x.task.cancel(task)
        rec = self.wait_task(task)
        self.assertEqual('success', rec['status'], rec)
        self.assertEqual(h2, self.x.VM.get_resident_on(vm))
        self.assertEqual({}, self.x.VM.get_current_operations(vm))
        self.x.task.destroy(task)

    def test_hard_shutdown_is_allowed_alongside_a_migration(self):
        # xapi_vm_lifecycle.ml is_allowed_concurrently: hard_shutdown may
        # start whatever runs but another hard_shutdown; other operations
        # wait (OTHER_OPERATION_IN_PROGRESS, checked after the power
        # state). The migration then fails: its domain is gone.
        h1, h2, vm, task = self._pool_migration_under_way()
        self.assertEqual(['OTHER_OPERATION_IN_PROGRESS', 'VM', vm,
                          'pool_migrate', task],
                         self.assertFailure('OTHER_OPERATION_IN_PROGRESS',
                                            self.x.VM.clean_shutdown, vm))
        # The power state is checked first.
        self.assertFailure('VM_BAD_POWER_STATE', self.x.VM.start, vm,
                           False, False)
        self.x.VM.hard_shutdown(vm)
        self.assertEqual('Halted', self.x.VM.get_power_state(vm))
        rec = self.wait_task(task)
        self.assertEqual('failure', rec['status'], rec)
        self.assertEqual('Halted', self.x.VM.get_power_state(vm))
        self.assertEqual({}, self.x.VM.get_current_operations(vm))
        self.x.task.destroy(task)

    def test_async_pool_migrate_failure_is_in_the_task(self):
        h1, h2 = self.need_hosts(2)[:2]
        vm = self.create_vm()
        task = self.x.Async.VM.pool_migrate(vm, h2, {})
        rec = self.wait_task(task)
        self.assertEqual(('failure', ['VM_BAD_POWER_STATE', vm, 'running',
                                      'halted']),
                         (rec['status'], rec['error_info']))
        self.x.task.destroy(task)

    def test_storage_motion_inside_the_pool(self):
        self.sim_only('needs a local SR on one host of a two-host pool')
        h1, h2 = self.sim.host_refs['xs-a1'], self.sim.host_refs['xs-a2']
        local = self.sim.local_sr_ref('xs-a1')
        vm = self._running_vm(h1, sr=local)
        vdi = self.x.VBD.get_VDI(self.x.VM.get_VBDs(vm)[0])
        self.sim.write_vdi(self.x.VDI.get_uuid(vdi), b'moved', 4096)
        token = self.x.host.migrate_receive(h2, self.network(), {})
        shared = self._shared_sr()
        # xapi_vm_migrate.ml (assert_can_migrate, which migrate_send runs
        # first): no VIF mapping within a pool.
        vif_map = {self.x.VM.get_VIFs(vm)[0]: self.network()}
        for call in (self.x.VM.assert_can_migrate, self.x.VM.migrate_send):
            self.assertEqual(
                ['OPERATION_NOT_ALLOWED', 'VIF mapping is not allowed for '
                 'intra-pool migration -all VIFs must be on the same '
                 'network'],
                self.assertFailure('OPERATION_NOT_ALLOWED', call, vm, token,
                                   True, {vdi: shared}, vif_map, {}))
        self.x.VM.assert_can_migrate(vm, token, True, {vdi: shared}, {}, {})
        self.x.VM.migrate_send(vm, token, True, {vdi: shared}, {}, {})
        self.assertEqual(h2, self.x.VM.get_resident_on(vm))
        new_vdi = self.x.VBD.get_VDI(self.x.VM.get_VBDs(vm)[0])
        self.assertEqual(shared, self.x.VDI.get_SR(new_vdi))
        self.assertEqual(b'moved', self.get_vdi(new_vdi)[4096:4101])
        self.assertFailure('HANDLE_INVALID', self.x.VDI.get_record, vdi)

    def test_storage_motion_keeps_only_config_drive_of_other_config(self):
        # xapi_globs.ml vdi_other_config_sync_keys = ["config-drive"];
        # xapi_vm_migrate.ml intra_pool_vdi_remap copies only those keys
        # onto the VDI the disk was mirrored to.
        self.sim_only('needs a local SR on one host of a two-host pool')
        h1, h2 = self.sim.host_refs['xs-a1'], self.sim.host_refs['xs-a2']
        vm = self._running_vm(h1, sr=self.sim.local_sr_ref('xs-a1'))
        vdi = self.x.VBD.get_VDI(self.x.VM.get_VBDs(vm)[0])
        self.x.VDI.add_to_other_config(vdi, 'nova_disk_type', 'root')
        self.x.VDI.add_to_other_config(vdi, 'config-drive', 'true')
        token = self.x.host.migrate_receive(h2, self.network(), {})
        self.x.VM.migrate_send(vm, token, True, {vdi: self._shared_sr()},
                               {}, {})
        new_vdi = self.x.VBD.get_VDI(self.x.VM.get_VBDs(vm)[0])
        self.assertEqual({'config-drive': 'true'},
                         self.x.VDI.get_other_config(new_vdi))


class CrossPoolMigrateTest(base.ContractTestCase):

    NEEDS_DEST = True

    def setUp(self):
        super().setUp()
        self.need_dest()
        self.dsession = self.dest.session()
        self.addCleanup(self._logout, self.dsession)
        self.dx = self.dsession.xenapi
        self.dhost = self.dx.pool.get_master(self.dx.pool.get_all()[0])
        self.dsr = self.dx.pool.get_default_SR(self.dx.pool.get_all()[0])
        self.dnet = self.network(self.dx)

    def _vm(self, start=True, memory_mb=256, **kw):
        vm = self.create_vm(memory_mb=memory_mb,
                            other_config={'nova_uuid': 'inst-1'}, **kw)
        root = self.create_vdi(size_mb=4, name='root',
                               other_config={'nova_disk_type': 'root'})
        eph = self.create_vdi(size_mb=2, name='eph')
        self.attach(vm, root, '0', bootable=True)
        self.attach(vm, eph, '1')
        self.add_vif(vm, '0')
        if start:
            self.x.VM.start(vm, False, False)
        return vm, root, eph

    def _maps(self, vm):
        vdis = [self.x.VBD.get_VDI(v) for v in self.x.VM.get_VBDs(vm)]
        vifs = self.x.VM.get_VIFs(vm)
        return ({vdi: self.dsr for vdi in vdis},
                {vif: self.dnet for vif in vifs})

    def _token(self):
        return self.dx.host.migrate_receive(self.dhost, self.dnet, {})

    def _forget_dest_vm(self, uuid):
        def cleanup():
            try:
                ref = self.dx.VM.get_by_uuid(uuid)
            except XenAPI.Failure:
                return
            vdis = [self.dx.VBD.get_VDI(v) for v in self.dx.VM.get_VBDs(ref)]
            self._destroy_vm(self.dx, ref)
            for vdi in vdis:
                self._destroy_vdi(self.dx, vdi)
        self.addCleanup(cleanup)

    def test_token(self):
        token = self._token()
        self.assertEqual({'SM', 'host', 'xenops', 'session_id', 'master'},
                         set(token))
        self.assertEqual(self.dhost, token['host'])
        self.assertTrue(token['session_id'].startswith('OpaqueRef:'))
        self.assertIn('session_id=' + token['session_id'], token['SM'])
        self.assertIn('/services/xenops?session_id=', token['xenops'])
        self.assertTrue(token['master'].startswith('http'))

    def test_migrate_a_running_vm(self):
        vm, root, eph = self._vm()
        uuid = self.x.VM.get_uuid(vm)
        self._forget_dest_vm(uuid)
        mac = self.x.VIF.get_MAC(self.x.VM.get_VIFs(vm)[0])
        if self.sim is not None:
            self.sim.write_vdi(self.x.VDI.get_uuid(root), b'root-mark', 0)
            self.sim.write_vdi(self.x.VDI.get_uuid(eph), b'eph-mark', MiB)
        vdi_map, vif_map = self._maps(vm)
        token = self._token()
        self.x.VM.assert_can_migrate(vm, token, True, vdi_map, vif_map, {})
        new = self.x.VM.migrate_send(vm, token, True, vdi_map, vif_map, {})
        # Gone from the source, VDIs included.
        self.assertFailure('HANDLE_INVALID', self.x.VM.get_record, vm)
        self.assertFailure('HANDLE_INVALID', self.x.VDI.get_record, root)
        rec = self.dx.VM.get_record(new)
        self.assertEqual(uuid, rec['uuid'])
        self.assertEqual(base.PREFIX + 'vm', rec['name_label'])
        self.assertEqual('inst-1', rec['other_config']['nova_uuid'])
        self.assertEqual('Running', rec['power_state'])
        self.assertEqual(self.dhost, rec['resident_on'])
        vbds = {self.dx.VBD.get_userdevice(v): self.dx.VBD.get_record(v)
                for v in rec['VBDs']}
        self.assertEqual(['0', '1'], sorted(vbds))
        self.assertTrue(vbds['0']['bootable'])
        for vbd in vbds.values():
            self.assertEqual(self.dsr, self.dx.VDI.get_SR(vbd['VDI']))
            self.assertTrue(vbd['currently_attached'])
        self.assertEqual(str(4 * MiB),
                         self.dx.VDI.get_virtual_size(vbds['0']['VDI']))
        self.assertEqual([mac], [self.dx.VIF.get_MAC(v)
                                 for v in rec['VIFs']])
        self.assertEqual(self.dnet, self.dx.VIF.get_network(rec['VIFs'][0]))
        if self.sim is not None:
            url, sid = self.dest.url, self.dsession.handle
            root_disk = self.get_vdi(vbds['0']['VDI'], url=url,
                                     session_id=sid)
            eph_disk = self.get_vdi(vbds['1']['VDI'], url=url,
                                    session_id=sid)
            self.assertEqual(b'root-mark', root_disk[:9])
            self.assertEqual(b'eph-mark', eph_disk[MiB:MiB + 8])

    def test_migrated_vdis_keep_only_config_drive_of_other_config(self):
        # xapi_globs.ml vdi_other_config_sync_keys = ["config-drive"]:
        # import.ml (the destination's metadata import, Found_disk) copies
        # only those keys onto the mirrored VDI; the VM's own other_config
        # travels whole.
        vm, root, eph = self._vm(start=False)
        self.x.VDI.add_to_other_config(eph, 'config-drive', 'true')
        self._forget_dest_vm(self.x.VM.get_uuid(vm))
        vdi_map, vif_map = self._maps(vm)
        new = self.x.VM.migrate_send(vm, self._token(), True, vdi_map,
                                     vif_map, {})
        self.assertEqual('inst-1',
                         self.dx.VM.get_other_config(new)['nova_uuid'])
        other = {self.dx.VBD.get_userdevice(v): self.dx.VDI.get_other_config(
            self.dx.VBD.get_VDI(v)) for v in self.dx.VM.get_VBDs(new)}
        self.assertEqual({'0': {}, '1': {'config-drive': 'true'}}, other)

    def test_a_halted_vm_migrates_and_stays_halted(self):
        vm, root, eph = self._vm(start=False)
        uuid = self.x.VM.get_uuid(vm)
        self._forget_dest_vm(uuid)
        vdi_map, vif_map = self._maps(vm)
        new = self.x.VM.migrate_send(vm, self._token(), False, vdi_map,
                                     vif_map, {})
        self.assertEqual('Halted', self.dx.VM.get_power_state(new))
        self.assertEqual(uuid, self.dx.VM.get_uuid(new))

    def test_a_paused_vm_does_not(self):
        vm, _, _ = self._vm()
        self.x.VM.pause(vm)
        vdi_map, vif_map = self._maps(vm)
        self.assertEqual(
            ['VM_BAD_POWER_STATE', vm, 'halted, suspended, running',
             'paused'],
            self.assertFailure('VM_BAD_POWER_STATE', self.x.VM.migrate_send,
                               vm, self._token(), True, vdi_map, vif_map,
                               {}))

    def test_every_vdi_must_be_mapped(self):
        vm, root, eph = self._vm()
        vdi_map, vif_map = self._maps(vm)
        del vdi_map[eph]
        token = self._token()
        for call in (self.x.VM.assert_can_migrate, self.x.VM.migrate_send):
            self.assertEqual(['VDI_NOT_IN_MAP', eph], self.assertFailure(
                'VDI_NOT_IN_MAP', call, vm, token, True, vdi_map, vif_map,
                {}))
        self.assertEqual('Running', self.x.VM.get_power_state(vm))

    def test_every_vif_must_be_mapped(self):
        vm, _, _ = self._vm()
        vdi_map, _ = self._maps(vm)
        vif = self.x.VM.get_VIFs(vm)[0]
        self.assertEqual(['VIF_NOT_IN_MAP', vif], self.assertFailure(
            'VIF_NOT_IN_MAP', self.x.VM.assert_can_migrate, vm,
            self._token(), True, vdi_map, {}, {}))

    def test_target_sr_must_exist_on_the_destination(self):
        vm, root, _ = self._vm()
        vdi_map, vif_map = self._maps(vm)
        bogus = 'OpaqueRef:33333333-3333-3333-3333-333333333333'
        vdi_map[root] = bogus
        self.assertEqual(['HANDLE_INVALID', 'SR', bogus], self.assertFailure(
            'HANDLE_INVALID', self.x.VM.assert_can_migrate, vm,
            self._token(), True, vdi_map, vif_map, {}))

    def test_token_without_its_keys(self):
        vm, _, _ = self._vm()
        vdi_map, vif_map = self._maps(vm)
        token = self._token()
        del token['master']
        self.assertFailure('INTERNAL_ERROR', self.x.VM.assert_can_migrate,
                           vm, token, True, vdi_map, vif_map, {})

    def test_token_whose_session_expired(self):
        vm, _, _ = self._vm()
        vdi_map, vif_map = self._maps(vm)
        token = self._token()
        self.raw('session.logout', token['session_id'], url=self.dest.url)
        # XAPI passes the destination's SESSION_INVALID back unchanged;
        # os_xenapi would take it for its own session and retry three
        # times, so look at the wire.
        result = self.raw('VM.migrate_send', self.session.handle, vm, token,
                          True, vdi_map, vif_map, {})
        self.assertEqual(['SESSION_INVALID', token['session_id']],
                         result['ErrorDescription'])
        # Through the client: three logins and retries, then a Fault.
        e = self.assertRaises(xmlrpc.client.Fault, self.x.VM.migrate_send,
                              vm, token, True, vdi_map, vif_map, {})
        self.assertEqual(500, e.faultCode)
        self.assertEqual('Running', self.x.VM.get_power_state(vm))

    def test_destination_memory(self):
        self.sim_only('needs a known amount of free memory at the '
                      'destination')
        vm, _, _ = self._vm(memory_mb=9000)
        vdi_map, vif_map = self._maps(vm)
        details = self.assertFailure(
            'HOST_NOT_ENOUGH_FREE_MEMORY', self.x.VM.migrate_send, vm,
            self._token(), True, vdi_map, vif_map, {})
        self.assertEqual([str(9000 * MiB), str(8192 * MiB)], details[1:])
        self.assertEqual('Running', self.x.VM.get_power_state(vm))
        self.assertIsNone(self.dest.sim.vm(self.x.VM.get_uuid(vm)))

    def test_failure_at_the_destination_leaves_both_sides_clean(self):
        self.sim_only('fault injection')
        vm, root, eph = self._vm()
        vdis_before = len(self.dest.sim.vdis())
        vms_before = self.dest.sim.vms()
        self.dest.sim.faults.inject('VDI.create', code='SR_BACKEND_FAILURE',
                                    params=['disk full'], after=1)
        self.addCleanup(self.dest.sim.faults.clear)
        vdi_map, vif_map = self._maps(vm)
        self.assertEqual(['SR_BACKEND_FAILURE', 'disk full'],
                         self.assertFailure(
                             'SR_BACKEND_FAILURE', self.x.VM.migrate_send,
                             vm, self._token(), True, vdi_map, vif_map, {}))
        self.assertEqual(vdis_before, len(self.dest.sim.vdis()))
        self.assertEqual(vms_before, self.dest.sim.vms())
        rec = self.x.VM.get_record(vm)
        self.assertEqual('Running', rec['power_state'])
        self.assertEqual({}, rec['current_operations'])
        self.assertEqual(2, len(rec['VBDs']))

    def test_other_operations_wait_for_the_migration(self):
        self.sim_only('needs a slowed-down destination')
        vm, _, _ = self._vm()
        vdi_map, vif_map = self._maps(vm)
        token = self._token()
        self.dest.sim.faults.inject('xapisim.receive_vm', delay=0.5)
        self.addCleanup(self.dest.sim.faults.clear)
        result = {}

        def migrate():
            s = self.pool.session()
            try:
                result['vm'] = s.xenapi.VM.migrate_send(
                    vm, token, True, vdi_map, vif_map, {})
            finally:
                self._logout(s)

        calls = self.dest.sim.faults.count('xapisim.receive_vm')
        thread = threading.Thread(target=migrate)
        thread.start()
        deadline = time.monotonic() + 30
        while (self.dest.sim.faults.count('xapisim.receive_vm') == calls
               and time.monotonic() < deadline):
            time.sleep(0.01)
        # xapi_vm_lifecycle.ml is_allowed_concurrently: a clean shutdown
        # or reboot may run alongside migrate_send, a pause may not.
        details = self.assertFailure('OTHER_OPERATION_IN_PROGRESS',
                                     self.x.VM.pause, vm)
        self.assertEqual(['VM', vm, 'migrate_send'], details[1:4])
        thread.join(30)
        self.assertEqual('Running', self.dx.VM.get_power_state(result['vm']))

    def test_copy_needs_a_halted_vm(self):
        vm, _, _ = self._vm()
        vdi_map, vif_map = self._maps(vm)
        self.assertEqual(['VM_BAD_POWER_STATE', vm, 'halted', 'running'],
                         self.assertFailure(
                             'VM_BAD_POWER_STATE', self.x.VM.migrate_send,
                             vm, self._token(), True, vdi_map, vif_map,
                             {'copy': 'true'}))

    def test_copy_keeps_the_source(self):
        vm, root, _ = self._vm(start=False)
        uuid = self.x.VM.get_uuid(vm)
        vdi_map, vif_map = self._maps(vm)
        new = self.x.VM.migrate_send(vm, self._token(), False, vdi_map,
                                     vif_map, {'copy': 'true'})
        new_uuid = self.dx.VM.get_uuid(new)
        self._forget_dest_vm(new_uuid)
        # A copy is not a restore: the new VM gets a uuid of its own.
        self.assertNotEqual(uuid, new_uuid)
        self.assertEqual('Halted', self.x.VM.get_power_state(vm))
        self.assertEqual(self.default_sr, self.x.VDI.get_SR(root))


class GuestFeaturesTest(base.ContractTestCase):
    """A running HVM guest without PV drivers (no guest agent), as a
    rescue image often is: xapi_vm_lifecycle.ml check_op_for_feature,
    message_forwarding.ml (``~strict:(not force)`` for pool_migrate only).
    The contract tests' VMs boot no operating system, so on a real pool
    they have no agent either.
    """

    SIM_KWARGS = {'guest_agent': False}

    def setUp(self):
        super().setUp()
        self.h1, self.h2 = self.need_hosts(2)[:2]
        shared = [sr for sr, rec in self.x.SR.get_all_records().items()
                  if rec['shared'] and rec['content_type'] == 'user']
        if not shared:
            self.skipTest('the pool has no shared SR')
        self.sr = shared[0]
        self.vm = self.create_vm()
        self.vdi = self.create_vdi(sr=self.sr)
        self.attach(self.vm, self.vdi, '0', bootable=True)
        self.x.VM.start_on(self.vm, self.h1, False, False)

    def test_live_pool_migrate_is_refused(self):
        self.assertEqual(['VM_LACKS_FEATURE', self.vm], self.assertFailure(
            'VM_LACKS_FEATURE', self.x.VM.pool_migrate, self.vm, self.h2,
            {'live': 'true'}))
        self.assertEqual(self.h1, self.x.VM.get_resident_on(self.vm))
        self.assertNotIn('pool_migrate',
                         self.x.VM.get_allowed_operations(self.vm))

    def test_pool_migrate_with_force_is_not_refused(self):
        self.sim_only('moves a guest without PV drivers on a real pool')
        self.x.VM.pool_migrate(self.vm, self.h2, {'force': 'true'})
        self.assertEqual(self.h2, self.x.VM.get_resident_on(self.vm))

    def test_migrate_send_is_refused_whatever_the_options(self):
        token = self.x.host.migrate_receive(self.h2, self.network(), {})
        vdi_map = {self.vdi: self.sr}
        # assert_can_migrate does not look at the guest's features...
        self.x.VM.assert_can_migrate(self.vm, token, True, vdi_map, {}, {})
        # ...VM.migrate_send does, and force does not change that.
        for options in ({}, {'force': 'true'}):
            self.assertEqual(['VM_LACKS_FEATURE', self.vm],
                             self.assertFailure(
                                 'VM_LACKS_FEATURE', self.x.VM.migrate_send,
                                 self.vm, token, True, vdi_map, {},
                                 options))
        self.assertEqual(self.h1, self.x.VM.get_resident_on(self.vm))

    def test_clean_shutdown_and_reboot_are_refused(self):
        for call in (self.x.VM.clean_shutdown, self.x.VM.clean_reboot):
            self.assertEqual(['VM_LACKS_FEATURE', self.vm],
                             self.assertFailure('VM_LACKS_FEATURE', call,
                                                self.vm))
        self.assertEqual('Running', self.x.VM.get_power_state(self.vm))
        self.x.VM.hard_shutdown(self.vm)
        self.assertEqual('Halted', self.x.VM.get_power_state(self.vm))

    def test_a_guest_agent_lifts_it(self):
        self.sim_only('needs a guest agent in the guest')
        uuid = self.x.VM.get_uuid(self.vm)
        # PV drivers imply every feature.
        self.sim.set_guest_agent(uuid, other={})
        self.x.VM.pool_migrate(self.vm, self.h2, {})
        # No drivers, but the guest says it can suspend.
        self.sim.set_guest_agent(uuid, PV_drivers_version={},
                                 other={'feature-suspend': '1'})
        self.x.VM.pool_migrate(self.vm, self.h1, {})
        self.assertEqual(self.h1, self.x.VM.get_resident_on(self.vm))
        # feature-suspend says nothing about a clean reboot.
        self.assertFailure('VM_LACKS_FEATURE', self.x.VM.clean_reboot,
                           self.vm)
        self.sim.set_guest_agent(uuid, other={'data-cant-suspend-reason':
                                              'UEFI'})
        self.assertEqual(['VM_NON_SUSPENDABLE', self.vm, 'UEFI'],
                         self.assertFailure(
                             'VM_NON_SUSPENDABLE', self.x.VM.pool_migrate,
                             self.vm, self.h2, {'force': 'true'}))

    def test_a_pv_guest_needs_no_agent(self):
        self.sim_only('boots a PV guest without a kernel')
        vm = self.create_vm(name='pv', HVM_boot_policy='',
                            PV_bootloader='pygrub')
        self.attach(vm, self.create_vdi(sr=self.sr), '0', bootable=True)
        self.x.VM.start_on(vm, self.h1, False, False)
        self.x.VM.pool_migrate(vm, self.h2, {})
        self.x.VM.clean_shutdown(vm)
