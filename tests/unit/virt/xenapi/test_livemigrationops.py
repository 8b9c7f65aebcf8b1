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

"""Live migration through the driver's methods, in nova's order.

Each hop between services goes through nova's object serializer, as RPC
does; the hops that nova-conductor takes part in are checked to carry only
classes nova itself registers.
"""

import subprocess
import sys
import threading

from nova.compute import vm_states
from nova import exception
from nova.network import model as network_model
from nova.objects import base as obj_base
from nova.objects import migrate_data as nova_migrate_data
from oslo_serialization import jsonutils

from nova_rescue_lm.virt.xenapi import hostops
from nova_rescue_lm.virt.xenapi import migrate_data as xen_migrate_data
from tests.unit.virt.xenapi import base

SERIALIZER = obj_base.NovaObjectSerializer()


def over_rpc(obj):
    """What the receiving service gets."""
    return SERIALIZER.deserialize_entity(
        None, SERIALIZER.serialize_entity(None, obj))


class Calls:
    def __init__(self):
        self.posts = []
        self.recovers = []

    def post(self, context, instance, dest, block_migration, migrate_data):
        self.posts.append((dest, migrate_data))

    def recover(self, context, instance, dest, migrate_data):
        self.recovers.append((dest, migrate_data))


class MigrationTestBase(base.XenAPIDriverTestCase):

    def migrate(self, src, dest, inst, network_info=()):
        """nova's sequence; returns (conductor's view, Calls)."""
        # conductor -> dest
        checked = dest.check_can_live_migrate_destination(
            self.context, inst, {}, {})
        try:
            # dest -> source -> dest (computes only)
            checked = over_rpc(src.check_can_live_migrate_source(
                self.context, inst, over_rpc(checked)))
            at_conductor = over_rpc(dest.check_source_migrate_data_at_dest(
                self.context, inst, checked, None, None, None))
        finally:
            dest.cleanup_live_migration_destination_check(self.context,
                                                          checked)
        self.assertIs(type(at_conductor),
                      nova_migrate_data.HyperVLiveMigrateData)
        # conductor -> source -> dest -> source
        plan = over_rpc(dest.pre_live_migration(
            self.context, inst, None, list(network_info), None,
            over_rpc(over_rpc(at_conductor))))
        calls = Calls()
        src.live_migration(self.context, inst, 'dest', calls.post,
                           calls.recover, False, plan)
        if calls.posts:
            src.post_live_migration_at_source(self.context, inst, [])
            dest.post_live_migration_at_destination(self.context, inst, [])
            src.cleanup(self.context, inst, [], destroy_disks=False,
                        migrate_data=plan)
        else:
            dest.rollback_live_migration_at_destination(
                self.context, inst, [], None, destroy_disks=False,
                migrate_data=over_rpc(plan))
        return at_conductor, calls

    def vif(self):
        return network_model.VIF(
            id='0c7e7e6a-2f2b-4e7a-9b0e-2d7b1c7d0001',
            address='fa:16:3e:00:00:01',
            network=network_model.Network(id='net', bridge='xenbr0',
                                          meta={'mtu': 1450}),
            vnic_type=network_model.VNIC_TYPE_NORMAL)

    def migrate_outliving_the_timeout(self):
        """A rescued server whose migration XAPI ends 1.5 s after the
        source (migration_timeout = 1) stopped waiting: (inst, Calls).
        """
        src = self.make_driver(xapi_host='xs-a1', migration_timeout=1)
        inst = self.spawn(src, self.make_instance())
        self.rescue(src, inst)
        self.sim.migration_seconds = 2.5
        return inst, self.migrate(src, self.dest, inst)[1]

    def refused_by_source(self, inst):
        """The source's pre-check refuses: its MigrationPreCheckError."""
        checked = self.dest.check_can_live_migrate_destination(
            self.context, inst, {}, {})
        self.addCleanup(self.dest.cleanup_live_migration_destination_check,
                        self.context, checked)
        return self.assertRaises(exception.MigrationPreCheckError,
                                 self.src.check_can_live_migrate_source,
                                 self.context, inst, over_rpc(checked))

    def rescue(self, drv, inst):
        drv.rescue(self.context, inst, inst.get_network_info(),
                   self.image_meta(base.RESCUE_IMAGE), 'pw', None, None)
        inst.vm_state = vm_states.RESCUED


class WithinPoolTest(MigrationTestBase):

    def setUp(self):
        super().setUp()
        self.src = self.make_driver(xapi_host='xs-a1')
        self.dest = self.make_driver(xapi_host='xs-a2')

    def test_rescued_server_moves_with_pool_migrate(self):
        inst = self.spawn(self.src, self.make_instance(swap=64))
        original = self.layout(self.the_vm(inst))
        self.rescue(self.src, inst)
        rescue_vm = self.the_vm(inst)
        _stock, calls = self.migrate(self.src, self.dest, inst)
        self.assertEqual(1, len(calls.posts))
        self.assertEqual([], calls.recovers)
        vm = self.the_vm(inst)
        self.assertEqual(rescue_vm['uuid'], vm['uuid'])
        self.assertEqual('xs-a2', vm['resident_on'])
        self.assertEqual(1, self.sim.faults.count('VM.pool_migrate'))
        self.assertEqual(0, self.sim.faults.count('VM.migrate_send'))
        # The source's clean-up touched nothing; the destination owns it.
        self.assertEqual([inst.uuid], self.dest.list_instance_uuids())
        self.assertEqual([], self.src.list_instance_uuids())

        self.dest.unrescue(self.context, inst)
        vm = self.the_vm(inst)
        self.assertEqual('instance', vm['other_config'][
            'nova_rescue_lm_role'])
        self.assertEqual('xs-a2', vm['resident_on'])
        self.assertEqual(original, self.layout(vm))

    def test_injected_failure_rolls_back_and_keeps_the_vm_on_the_source(
            self):
        inst = self.spawn(self.src, self.make_instance())
        self.rescue(self.src, inst)
        self.sim.faults.inject('VM.pool_migrate', code='INTERNAL_ERROR',
                               params=['boom'])
        _stock, calls = self.migrate(self.src, self.dest, inst)
        self.assertEqual([], calls.posts)
        self.assertEqual(1, len(calls.recovers))
        vm = self.the_vm(inst)
        self.assertEqual('xs-a1', vm['resident_on'])
        self.assertEqual('rescue', vm['other_config']['nova_rescue_lm_role'])
        self.src.unrescue(self.context, inst)
        self.assertEqual('xs-a1', self.the_vm(inst)['resident_on'])

    def test_rescue_guest_without_pv_drivers_is_refused_up_front(self):
        # XAPI would refuse VM.pool_migrate with VM_LACKS_FEATURE; the
        # source's pre-check says so before anything moves.
        inst = self.spawn(self.src, self.make_instance())
        self.rescue(self.src, inst)
        self.sim.set_guest_agent(self.the_vm(inst)['uuid'], present=False)
        exc = self.refused_by_source(inst)
        self.assertIn('VM_LACKS_FEATURE', str(exc))
        self.assertIn('rescue VM', str(exc))
        self.assertEqual(0, self.sim.faults.count('VM.pool_migrate'))
        self.assertEqual('xs-a1', self.the_vm(inst)['resident_on'])
        # feature-suspend alone is enough, as for XAPI.
        self.sim.set_guest_agent(self.the_vm(inst)['uuid'],
                                 PV_drivers_version={},
                                 other={'feature-suspend': '1'})
        _stock, calls = self.migrate(self.src, self.dest, inst)
        self.assertEqual(1, len(calls.posts), calls.recovers)
        self.assertEqual('xs-a2', self.the_vm(inst)['resident_on'])

    def test_guest_that_cannot_suspend_is_refused_up_front(self):
        inst = self.spawn(self.src, self.make_instance())
        self.sim.set_guest_agent(self.the_vm(inst)['uuid'], other={
            'data-cant-suspend-reason': 'UEFI variables'})
        exc = self.refused_by_source(inst)
        self.assertIn('VM_NON_SUSPENDABLE', str(exc))

    def test_migration_that_outlives_the_timeout_is_not_rolled_back(self):
        inst, calls = self.migrate_outliving_the_timeout()
        self.assertEqual(1, len(calls.posts), calls.recovers)
        self.assertEqual([], calls.recovers)
        self.assertEqual('xs-a2', self.the_vm(inst)['resident_on'])
        self.assertEqual(1, self.sim.faults.count('VM.pool_migrate'))

    def new_master_after(self, seconds):
        """xs-a2 becomes the pool master (every task is lost) then."""
        timer = threading.Timer(seconds, self.sim.designate_new_master,
                                ('xs-a2',))
        timer.start()
        self.addCleanup(timer.cancel)

    def test_lost_task_the_vm_is_looked_for(self):
        # A new pool master knows no task of the former one: the driver
        # looks where the VM is, waiting while XAPI still moves it.
        inst = self.spawn(self.src, self.make_instance())
        self.rescue(self.src, inst)
        self.sim.migration_seconds = 1.5
        self.new_master_after(0.5)
        _stock, calls = self.migrate(self.src, self.dest, inst)
        self.assertEqual(1, len(calls.posts), calls.recovers)
        self.assertEqual('xs-a2', self.the_vm(inst)['resident_on'])

    def test_lost_task_and_a_failed_move_is_rolled_back(self):
        inst = self.spawn(self.src, self.make_instance())
        self.sim.faults.inject('VM.pool_migrate', code='INTERNAL_ERROR',
                               params=['boom'], delay=1)
        self.new_master_after(0.3)
        _stock, calls = self.migrate(self.src, self.dest, inst)
        self.assertEqual(1, len(calls.recovers), calls.posts)
        self.assertEqual('xs-a1', self.the_vm(inst)['resident_on'])

    def test_where_the_vm_is_cannot_be_told_no_rollback(self):
        # Still moving when every wait is over: neither rolled back nor
        # completed; nova puts the server in ERROR.
        src = self.make_driver(xapi_host='xs-a1', migration_timeout=1,
                               call_timeout=1)
        inst = self.spawn(src, self.make_instance())
        self.sim.migration_seconds = 5
        checked = self.dest.check_can_live_migrate_destination(
            self.context, inst, {}, {})
        plan = over_rpc(self.dest.pre_live_migration(
            self.context, inst, None, [], None,
            xen_migrate_data.to_stock(checked)))
        calls = Calls()
        self.assertRaises(exception.MigrationError, src.live_migration,
                          self.context, inst, 'dest', calls.post,
                          calls.recover, False, plan)
        self.assertEqual(([], []), (calls.posts, calls.recovers))

    def test_destination_memory_is_checked_by_xapi(self):
        inst = self.spawn(self.src, self.make_instance())
        self.sim.faults.inject('VM.pool_migrate',
                               code='HOST_NOT_ENOUGH_FREE_MEMORY',
                               params=['536870912', '0'])
        _stock, calls = self.migrate(self.src, self.dest, inst)
        self.assertEqual(1, len(calls.recovers))
        self.assertEqual('xs-a1', self.the_vm(inst)['resident_on'])

    def test_migrating_to_the_host_it_runs_on_is_refused(self):
        inst = self.spawn(self.src, self.make_instance())
        self.assertRaises(exception.MigrationPreCheckError,
                          self.src.check_can_live_migrate_destination,
                          self.context, inst, {}, {})


class LocalStorageTest(MigrationTestBase):
    """A pool without shared storage: the disks move too (migrate_send)."""

    def setUp(self):
        super().setUp()
        self.sim = base.start_simulator(self, pool_name='pool-l',
                                        shared_sr=False)
        for host in ('xs-a1', 'xs-a2'):
            base.xapi_call(self.sim, 'SR.add_to_other_config',
                           self.sim.local_sr_ref(host), 'nova-sr', host)

    def local_driver(self, host):
        return self.make_driver(xapi_host=host,
                                sr_matching_filter='other-config:nova-sr=' +
                                host)

    def test_refuses_to_start_without_a_usable_sr(self):
        # The pool's default SR is the local SR of xs-a1.
        self.assertRaises(hostops.NoUsableSR, self.make_driver,
                          xapi_host='xs-a2')
        self.assertRaises(hostops.NoUsableSR, self.make_driver,
                          xapi_host='xs-a1',
                          sr_matching_filter='other-config:nova-sr=xs-a2')

    def test_storage_migration_within_the_pool(self):
        src = self.local_driver('xs-a1')
        dest = self.local_driver('xs-a2')
        inst = self.spawn(src, self.make_instance(swap=64))
        root = self.layout(self.the_vm(inst))[0][1]
        self.sim.write_vdi(root, b'GUEST-DATA', offset=512)
        self.rescue(src, inst)
        _stock, calls = self.migrate(src, dest, inst)
        self.assertEqual(1, len(calls.posts), calls.recovers)
        self.assertEqual(0, self.sim.faults.count('VM.pool_migrate'))
        self.assertEqual(1, self.sim.faults.count('VM.migrate_send'))
        vm = self.the_vm(inst)
        self.assertEqual('xs-a2', vm['resident_on'])
        local_b = self.sim.local_sr_ref('xs-a2')
        srs = {v['uuid']: v['sr_ref'] for v in self.sim.vdis()}
        self.assertEqual({local_b},
                         {srs[vdi] for _dev, vdi, _b in self.layout(vm)})
        dest.unrescue(self.context, inst)
        vm = self.the_vm(inst)
        root = self.layout(vm)[0][1]
        self.assertEqual(b'GUEST-DATA', self.sim.vdi_bytes(root)[512:522])

    def test_disks_go_to_the_member_that_sees_its_storage(self):
        # The master cannot see xs-a2's local SR: XAPI answers the upload
        # with a 302 to xs-a2, where the master's session is good.
        drv = self.local_driver('xs-a2')
        inst = self.spawn(drv, self.make_instance())
        self.assertEqual(1, self.sim.faults.count('import_raw_vdi@302'))
        root = self.layout(self.the_vm(inst))[0][1]
        self.assertEqual(base.SERVER_BYTES, self.disk_bytes(
            root, len(base.SERVER_BYTES)))
        self.rescue(drv, inst)
        self.assertEqual(2, self.sim.faults.count('import_raw_vdi@302'))
        rescue_disk = self.layout(self.the_vm(inst))[0][1]
        self.assertEqual(base.RESCUE_BYTES, self.disk_bytes(
            rescue_disk, len(base.RESCUE_BYTES)))

    def test_storage_migration_within_the_pool_with_interfaces(self):
        # XAPI refuses any VIF mapping within one pool
        # (OPERATION_NOT_ALLOWED): the VIFs keep their network.
        src = self.local_driver('xs-a1')
        dest = self.local_driver('xs-a2')
        inst = self.make_instance(vifs=[self.vif()])
        self.spawn(src, inst)
        self.rescue(src, inst)
        _stock, calls = self.migrate(src, dest, inst,
                                     inst.get_network_info())
        self.assertEqual(1, len(calls.posts), calls.recovers)
        vm = self.the_vm(inst)
        self.assertEqual('xs-a2', vm['resident_on'])
        self.assertEqual([('fa:16:3e:00:00:01', self.sim.network_ref)],
                         [(v['MAC'], v['network']) for v in vm['vifs']])
        dest.unrescue(self.context, inst)
        self.assertEqual(['fa:16:3e:00:00:01'],
                         [v['MAC'] for v in self.the_vm(inst)['vifs']])


class CrossPoolTest(MigrationTestBase):

    def setUp(self):
        super().setUp()
        self.sim_b = base.start_simulator(self, pool_name='pool-b',
                                          hosts=('xs-b1',))
        self.src = self.make_driver(xapi_host='xs-a1')
        self.dest = self.make_driver(sim=self.sim_b, xapi_host='xs-b1')

    def test_rescued_server_and_its_disks_move_to_the_other_pool(self):
        inst = self.make_instance(swap=64, vifs=[self.vif()])
        self.spawn(self.src, inst)
        original = self.layout(self.the_vm(inst))
        kinds = {vdi: self.disks_of(inst)[vdi]['nova_disk_type']
                 for _dev, vdi, _b in original}
        root = original[0][1]
        self.sim.write_vdi(root, b'GUEST-DATA', offset=512)
        self.rescue(self.src, inst)
        sessions = self.sim_b.session_count()

        _stock, calls = self.migrate(self.src, self.dest, inst,
                                     inst.get_network_info())
        self.assertEqual(1, len(calls.posts), calls.recovers)
        # The source logged out the session of the spent token.
        self.src.post_live_migration(self.context, inst, None,
                                     calls.posts[0][1])
        self.assertEqual(sessions, self.sim_b.session_count())
        self.assertEqual([], self.vms_of(inst))  # nothing left in pool-a
        self.assertEqual({}, self.disks_of(inst))
        vm = self.the_vm(inst, self.sim_b)
        self.assertEqual('xs-b1', vm['resident_on'])
        self.assertEqual('rescue', vm['other_config']['nova_rescue_lm_role'])
        self.assertEqual(['fa:16:3e:00:00:01'],
                         [v['MAC'] for v in vm['vifs']])
        self.assertEqual([self.sim_b.network_ref],
                         [v['network'] for v in vm['vifs']])
        self.assertEqual([inst.uuid], self.dest.list_instance_uuids())

        self.dest.unrescue(self.context, inst)
        vm = self.the_vm(inst, self.sim_b)
        self.assertEqual('instance', vm['other_config'][
            'nova_rescue_lm_role'])
        new_layout = self.layout(vm)
        self.assertEqual([(dev, kinds[vdi]) for dev, vdi, _b in original],
                         [(dev, self.disks_of(inst, self.sim_b)[vdi][
                             'nova_disk_type'])
                          for dev, vdi, _b in new_layout])
        self.assertEqual(b'GUEST-DATA', self.sim_b.vdi_bytes(
            new_layout[0][1])[512:522])
        self.assertNotIn('rescue', {
            c['nova_disk_type']
            for c in self.disks_of(inst, self.sim_b).values()})

    def migrate_without_post_step(self, inst):
        """The VM and its disks move; nova never gets to the destination's
        post_live_migration_at_destination (it failed, or the compute
        stopped). XAPI kept none of the disks' tags (xapi_globs.ml
        vdi_other_config_sync_keys: only config-drive).
        """
        planned = self.dest.check_can_live_migrate_destination(
            self.context, inst, {}, {})
        checked = self.dest.pre_live_migration(
            self.context, inst, None, [], None,
            xen_migrate_data.to_stock(planned))
        calls = Calls()
        self.src.live_migration(self.context, inst, 'dest', calls.post,
                                calls.recover, False, over_rpc(checked))
        self.assertEqual(1, len(calls.posts))
        self.assertEqual({}, self.disks_of(inst, self.sim_b))

    def test_disks_that_arrive_untagged_are_tagged_again(self):
        inst = self.spawn(self.src, self.make_instance(swap=64))
        self.rescue(self.src, inst)
        self.migrate_without_post_step(inst)
        self.dest.post_live_migration_at_destination(self.context, inst, [])
        kinds = {int(cfg.get('nova_userdevice', -1)): cfg['nova_disk_type']
                 for cfg in self.disks_of(inst, self.sim_b).values()}
        self.assertEqual({-1: 'rescue', 0: 'root', 1: 'swap'}, kinds)
        self.dest.unrescue(self.context, inst)
        vm = self.the_vm(inst, self.sim_b)
        self.assertEqual([0, 1], [dev for dev, _v, _b in self.layout(vm)])

    def test_unrescue_after_a_failed_post_migration_step(self):
        inst = self.spawn(self.src, self.make_instance(swap=64))
        root = self.layout(self.the_vm(inst))[0][1]
        self.sim.write_vdi(root, b'GUEST-DATA', offset=512)
        self.rescue(self.src, inst)
        self.migrate_without_post_step(inst)
        self.dest.unrescue(self.context, inst)
        vm = self.the_vm(inst, self.sim_b)
        self.assertEqual('instance', vm['other_config'][
            'nova_rescue_lm_role'])
        layout = self.layout(vm)
        self.assertEqual([0, 1], [dev for dev, _v, _b in layout])
        self.assertEqual(b'GUEST-DATA', self.sim_b.vdi_bytes(
            layout[0][1])[512:522])
        self.assertEqual(['root', 'swap'], sorted(
            c['nova_disk_type']
            for c in self.disks_of(inst, self.sim_b).values()))

    def test_hard_reboot_after_a_failed_post_migration_step(self):
        inst = self.spawn(self.src, self.make_instance(swap=64))
        root = self.layout(self.the_vm(inst))[0][1]
        self.sim.write_vdi(root, b'GUEST-DATA', offset=512)
        self.migrate_without_post_step(inst)
        self.dest.reboot(self.context, inst, [], 'HARD')
        vm = self.the_vm(inst, self.sim_b)
        self.assertEqual('Running', vm['power_state'])
        layout = self.layout(vm)
        self.assertEqual([0, 1], [dev for dev, _v, _b in layout])
        self.assertEqual(b'GUEST-DATA', self.sim_b.vdi_bytes(
            layout[0][1])[512:522])

    def test_rescued_again_after_a_failed_post_migration_step(self):
        inst = self.spawn(self.src, self.make_instance())
        self.migrate_without_post_step(inst)
        self.rescue(self.dest, inst)
        vm = self.the_vm(inst, self.sim_b)
        self.assertEqual('rescue', vm['other_config']['nova_rescue_lm_role'])
        self.assertEqual([0, 1], [dev for dev, _v, _b in self.layout(vm)])

    def test_xapi_refusal_at_check_time_moves_nothing(self):
        inst = self.spawn(self.src, self.make_instance())
        self.rescue(self.src, inst)
        self.sim_b.faults.inject('xapisim.receive_check',
                                 code='HOST_NOT_ENOUGH_FREE_MEMORY',
                                 params=['536870912', '0'])
        checked = self.dest.check_can_live_migrate_destination(
            self.context, inst, {}, {})
        self.assertRaises(exception.MigrationPreCheckError,
                          self.src.check_can_live_migrate_source,
                          self.context, inst, over_rpc(checked))
        self.assertEqual('xs-a1', self.the_vm(inst)['resident_on'])

    def test_guest_without_pv_drivers_is_refused_before_migrate_send(self):
        inst = self.spawn(self.src, self.make_instance())
        self.sim.set_guest_agent(self.the_vm(inst)['uuid'], present=False)
        exc = self.refused_by_source(inst)
        self.assertIn('VM_LACKS_FEATURE', str(exc))
        self.assertEqual(0, self.sim.faults.count('VM.migrate_send'))
        self.assertEqual([], self.vms_of(inst, self.sim_b))

    def test_check_time_session_is_logged_out(self):
        inst = self.spawn(self.src, self.make_instance())
        before = self.sim_b.session_count()
        checked = self.dest.check_can_live_migrate_destination(
            self.context, inst, {}, {})
        self.assertEqual(before + 1, self.sim_b.session_count())
        self.dest.cleanup_live_migration_destination_check(self.context,
                                                           checked)
        self.assertEqual(before, self.sim_b.session_count())

    def test_token_session_is_logged_out_where_the_driver_reaches_xapi(self):
        # xapi_host.ml migrate_receive names the master http://<address>/
        # whatever the host accepts; an https-only host (the simulator has
        # no TLS: a port nobody answers on stands for it) does not answer
        # there. The destination logs its pool's session out at the URL it
        # uses itself.
        inst = self.spawn(self.src, self.make_instance())
        before = self.sim_b.session_count()
        checked = self.dest.check_can_live_migrate_destination(
            self.context, inst, {}, {})
        checked.migrate_send_data['master'] = 'http://127.0.0.1:9/'
        self.dest.cleanup_live_migration_destination_check(
            self.context, over_rpc(checked))
        self.assertEqual(before, self.sim_b.session_count())

    def test_migrate_send_that_outlives_the_timeout_is_not_rolled_back(
            self):
        inst, calls = self.migrate_outliving_the_timeout()
        self.assertEqual(1, len(calls.posts), calls.recovers)
        self.assertEqual([], self.vms_of(inst))
        self.assertEqual('xs-b1', self.the_vm(inst, self.sim_b)[
            'resident_on'])

    def test_failure_during_migrate_send_rolls_back(self):
        inst = self.spawn(self.src, self.make_instance())
        self.rescue(self.src, inst)
        self.sim.faults.inject('VM.migrate_send', code='INTERNAL_ERROR',
                               params=['boom'])
        _stock, calls = self.migrate(self.src, self.dest, inst)
        self.assertEqual(1, len(calls.recovers))
        self.assertEqual('xs-a1', self.the_vm(inst)['resident_on'])
        self.assertEqual([], self.vms_of(inst, self.sim_b))
        self.assertEqual({}, self.disks_of(inst, self.sim_b))


class TokenOutOfLogsTest(base.XenAPIDriverTestCase):

    def test_repr_hides_the_session_the_wire_keeps_it(self):
        session = 'OpaqueRef:7d1c0e4e-secret'
        token = {'session_id': session, 'master': 'https://[2001:db8::1]/',
                 'host': 'OpaqueRef:host',
                 'SM': 'https://x/services/SM?session_id=' + session,
                 'xenops': 'https://x/services/xenops?session_id=' + session}
        data = xen_migrate_data.XenAPILiveMigrateData(
            migrate_send_data=token)
        for text in (repr(data), str(data), '%s' % data):
            self.assertNotIn(session, text)
        self.assertIn("host='OpaqueRef:host'", repr(data))
        self.assertIn("master='https://[2001:db8::1]/'", repr(data))
        self.assertEqual(token, dict(over_rpc(data).migrate_send_data))


class ConductorSeesStockObjectsTest(base.XenAPIDriverTestCase):

    def test_stock_nova_deserializes_what_reaches_the_conductor(self):
        ours = xen_migrate_data.XenAPILiveMigrateData(
            xapi_pool_uuid='p', xapi_host_uuid='h',
            migrate_send_data={'session_id': 'OpaqueRef:s'},
            destination_sr_ref='OpaqueRef:sr', vif_networks={},
            is_volume_backed=False, wait_for_vif_plugged=False)
        stock = xen_migrate_data.to_stock(ours)
        primitive = SERIALIZER.serialize_entity(None, stock)
        self.assertEqual('HyperVLiveMigrateData',
                         primitive['nova_object.name'])
        self.assertNotIn('migrate_send_data', str(primitive))
        # A python with nova only (as nova-conductor runs) reads it back.
        code = (
            'import sys, json\n'
            'from nova import objects\n'
            'from nova.objects import base\n'
            'objects.register_all()\n'
            'obj = base.NovaObjectSerializer().deserialize_entity(\n'
            '    None, json.loads(sys.stdin.read()))\n'
            'assert not [m for m in sys.modules if "rescue_lm" in m]\n'
            'print(type(obj).__name__, obj.is_shared_instance_path)\n')
        out = subprocess.run(
            [sys.executable, '-c', code], input=jsonutils.dumps(primitive),
            capture_output=True, text=True, check=True,
            env={'OS_NOVA_DISABLE_EVENTLET_PATCHING': '1',
                 'PATH': '/usr/bin:/bin'})
        self.assertEqual('HyperVLiveMigrateData True', out.stdout.strip())
