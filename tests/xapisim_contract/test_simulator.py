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

"""The simulator's own controls: faults, disk access, views, lifecycle.

These only make sense against the simulator; on a real XAPI they skip.
"""

import threading
import xmlrpc.client

from os_xenapi.client import XenAPI

from tests.xapisim import errors
from tests.xapisim import Simulator
from tests.xapisim_contract import base

MiB = base.MiB


class FaultsTest(base.ContractTestCase):

    def setUp(self):
        super().setUp()
        self.sim_only('fault injection')

    def test_fails_the_next_call_only(self):
        self.sim.faults.inject('pool.get_all', code='INTERNAL_ERROR',
                               params=['boom'])
        self.assertEqual(['INTERNAL_ERROR', 'boom'], self.assertFailure(
            'INTERNAL_ERROR', self.x.pool.get_all))
        self.assertEqual(1, len(self.x.pool.get_all()))

    def test_after_lets_calls_through_first(self):
        vm = self.create_vm()
        self.sim.faults.inject('VM.get_power_state', code='HOST_OFFLINE',
                               params=['h'], times=2, after=1)
        self.assertEqual('Halted', self.x.VM.get_power_state(vm))
        self.assertFailure('HOST_OFFLINE', self.x.VM.get_power_state, vm)
        self.assertFailure('HOST_OFFLINE', self.x.VM.get_power_state, vm)
        self.assertEqual('Halted', self.x.VM.get_power_state(vm))

    def test_forever_until_cleared(self):
        self.sim.faults.inject('host.get_all', code='INTERNAL_ERROR',
                               times=None)
        for _ in range(3):
            self.assertFailure('INTERNAL_ERROR', self.x.host.get_all)
        self.sim.faults.clear()
        self.assertEqual(2, len(self.x.host.get_all()))

    def test_failed_call_changes_nothing(self):
        vm = self.create_vm()
        self.sim.faults.inject('VM.start', code='INTERNAL_ERROR')
        self.assertFailure('INTERNAL_ERROR', self.x.VM.start, vm, False,
                           False)
        self.assertEqual('Halted', self.x.VM.get_power_state(vm))

    def test_delay_still_answers(self):
        vm = self.create_vm()
        calls = self.sim.faults.count('VM.start')
        self.sim.faults.inject('VM.start', delay=0.2)
        self.x.VM.start(vm, False, False)
        self.assertEqual('Running', self.x.VM.get_power_state(vm))
        self.assertEqual(calls + 1, self.sim.faults.count('VM.start'))

    def test_async_calls_are_faulted_too(self):
        # In their task, as XAPI reports what an Async call ran into.
        vm = self.create_vm()
        self.sim.faults.inject('VM.start', code='VM_REQUIRES_SR',
                               params=[vm, 'sr'])
        task = self.x.Async.VM.start(vm, False, False)
        rec = self.wait_task(task)
        self.assertEqual(('failure', ['VM_REQUIRES_SR', vm, 'sr']),
                         (rec['status'], rec['error_info']))
        self.assertEqual('Halted', self.x.VM.get_power_state(vm))

    def test_a_fault_needs_a_code_or_a_delay(self):
        self.assertRaises(ValueError, self.sim.faults.inject, 'VM.start')


class ViewsTest(base.ContractTestCase):

    def setUp(self):
        super().setUp()
        self.sim_only('the simulator views')

    def test_vms_view(self):
        vm = self.create_vm(name='view', memory_mb=512, vcpus=2,
                            other_config={'nova_uuid': 'n1'})
        vdi = self.create_vdi(size_mb=4)
        self.attach(vm, vdi, '0', bootable=True)
        self.add_vif(vm, '0')
        self.x.VM.add_to_blocked_operations(vm, 'start', 'true')
        view = self.sim.vm(self.x.VM.get_uuid(vm))
        self.assertEqual(base.PREFIX + 'view', view['name_label'])
        self.assertEqual('Halted', view['power_state'])
        self.assertIsNone(view['resident_on'])
        self.assertEqual('n1', view['other_config']['nova_uuid'])
        self.assertEqual({'start': 'true'}, view['blocked_operations'])
        self.assertEqual(512 * MiB, view['memory'])
        self.assertEqual(2, view['vcpus'])
        self.assertEqual([{
            'ref': self.x.VM.get_VBDs(vm)[0], 'userdevice': '0',
            'device': '', 'vdi_uuid': self.x.VDI.get_uuid(vdi),
            'mode': 'RW', 'type': 'Disk', 'bootable': True,
            'currently_attached': False}], view['vbds'])
        self.assertEqual(['0'], [v['device'] for v in view['vifs']])
        self.x.VM.remove_from_blocked_operations(vm, 'start')
        self.x.VM.start_on(vm, self.sim.host_refs['xs-a2'], False, False)
        view = self.sim.vm(self.x.VM.get_uuid(vm))
        self.assertEqual('xs-a2', view['resident_on'])
        self.assertEqual('xvda', view['vbds'][0]['device'])
        names = [v['name_label'] for v in self.sim.vms()]
        self.assertFalse(any(n.startswith('Control domain') for n in names))

    def test_disk_contents(self):
        vdi = self.create_vdi(size_mb=1)
        uuid = self.x.VDI.get_uuid(vdi)
        self.assertEqual(b'', self.sim.vdi_bytes(uuid))
        self.sim.write_vdi(uuid, b'mark', offset=10)
        self.assertEqual(b'\0' * 10 + b'mark', self.sim.vdi_bytes(uuid))
        self.assertEqual(b'\0' * 10 + b'mark', self.get_vdi(vdi)[:14])
        self.assertRaises(errors.XapiError, self.sim.write_vdi, uuid, b'x',
                          MiB)
        vdis = {v['uuid']: v for v in self.sim.vdis()}
        self.assertEqual(MiB, vdis[uuid]['virtual_size'])

    def test_free_memory(self):
        self.assertEqual(16384 * MiB, self.sim.host_free_memory('xs-a1'))


class LifecycleTest(base.testtools.TestCase):
    """Simulators start, run side by side and stop cleanly."""

    def setUp(self):
        super().setUp()
        if base.REAL_URL:
            self.skipTest('simulator only: simulator lifecycle')

    def test_two_pools_at_once(self):
        a = Simulator(pool_name='a', hosts=('a1',)).start()
        self.addCleanup(a.stop)
        b = Simulator(pool_name='b', hosts=('b1', 'b2'),
                      shared_sr=False).start()
        self.addCleanup(b.stop)
        self.assertNotEqual(a.url, b.url)
        sa, sb = base.session(a.url), base.session(b.url)
        self.assertEqual(['a1'], [sa.xenapi.host.get_name_label(h)
                                  for h in sa.xenapi.host.get_all()])
        self.assertEqual(2, len(sb.xenapi.host.get_all()))
        # Without a shared SR the default SR is the first host's local one.
        pool = sb.xenapi.pool.get_all()[0]
        self.assertFalse(sb.xenapi.SR.get_shared(
            sb.xenapi.pool.get_default_SR(pool)))
        self.assertIsNone(b.shared_sr_ref)

    def test_stop_closes_open_connections(self):
        sim = Simulator(hosts=('h',)).start()
        s = base.session(sim.url)
        s.xenapi.pool.get_all()
        sim.stop()
        self.assertRaises((OSError, xmlrpc.client.ProtocolError,
                           ConnectionError), s.xenapi.pool.get_all)

    def test_credentials(self):
        sim = Simulator(hosts=('h',), username='admin',
                        password='pw').start()
        self.addCleanup(sim.stop)
        self.assertRaises(XenAPI.Failure, base.session, sim.url)
        s = base.session(sim.url, 'admin', 'pw')
        self.assertEqual(1, len(s.xenapi.host.get_all()))

    def test_many_threads_one_pool(self):
        sim = Simulator(hosts=('h1', 'h2')).start()
        self.addCleanup(sim.stop)
        errors = []

        def life(n):
            try:
                s = base.session(sim.url)
                x = s.xenapi
                vm = x.VM.create(base.vm_record('t%d' % n))
                vdi = x.VDI.create({
                    'name_label': 't', 'name_description': '',
                    'SR': sim.shared_sr_ref, 'virtual_size': str(MiB),
                    'type': 'user', 'sharable': False, 'read_only': False,
                    'other_config': {}, 'xenstore_data': {},
                    'sm_config': {}, 'tags': []})
                x.VBD.create({
                    'VM': vm, 'VDI': vdi, 'userdevice': '0',
                    'bootable': True, 'mode': 'RW', 'type': 'Disk',
                    'empty': False, 'other_config': {},
                    'qos_algorithm_type': '', 'qos_algorithm_params': {}})
                for _ in range(3):
                    x.VM.start(vm, False, False)
                    x.VM.hard_shutdown(vm)
                x.VM.destroy(vm)
                x.VDI.destroy(vdi)
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=life, args=(n,))
                   for n in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual([], errors)
        self.assertEqual([], sim.vms())
        self.assertEqual([], sim.vdis())
        self.assertEqual(16384 * MiB, sim.host_free_memory('h1'))
