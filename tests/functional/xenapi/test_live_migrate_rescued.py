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

"""Rescue, live-migrate at 2.105 and unrescue with XenAPI computes."""

import datetime
import io
import logging
import re

import fixtures
from nova.compute import rpcapi
from nova.objects import migrate_data
from os_xenapi.client import XenAPI

from tests.functional.xenapi import base
from tests.xapisim import vhd

VHD_IMAGE = '7c1d6b1e-5b0a-4c39-9a55-2d1c0f6a0001'
RESCUE_IMAGE = '7c1d6b1e-5b0a-4c39-9a55-2d1c0f6a0002'
VHD_DATA = b'VHD-SERVER-ROOT' * 100
RESCUE_DATA = b'RAW-RESCUE-SYSTEM' * 100


class TestWithinPool(base.XenAPITestBase):
    """Two computes, one per host of one pool with shared storage.

    cmp-a1 names its host in ``xapi_host``; cmp-a2 is only pointed at its
    host's own address (a pool member, which sends the login to the
    master).
    """

    def setUp(self):
        super().setUp()
        sim = self.start_pool('pool-a', ('xs-a1', 'xs-a2'))
        self.start_compute('cmp-a1', sim, 'xs-a1')
        self.start_compute('cmp-a2', sim, None,
                           connection_url=sim.member_url('xs-a2'))

    def _rescued_server(self):
        server = self._create_server(host='cmp-a1', networks='none')
        return self._rescue_server(server)

    def test_computes_report_the_trait(self):
        for host in ('cmp-a1', 'cmp-a2'):
            self.assertIn(base.TRAIT, self._provider_traits_of(host))

    def test_rescue_migrate_unrescue(self):
        server = self._create_server(host='cmp-a1', networks='none')
        pool, vm = self.the_vm(server)
        original = self.layout(vm)
        root = original[0][1]
        self.pools['pool-a'].write_vdi(root, b'GUEST-DATA', offset=512)

        server = self._rescue_server(server)
        pool, vm = self.the_vm(server)
        self.assertEqual('rescue', vm['other_config']['nova_rescue_lm_role'])
        self.assertEqual('xs-a1', vm['resident_on'])
        self.assertEqual('Running', vm['power_state'])
        # nova recorded the power state of the VM that runs.
        self.assertEqual(1, self._show_server(server)[
            'OS-EXT-STS:power_state'])

        resp = self._live_migrate_action(server, host='cmp-a2')
        self.assertEqual(202, resp.status)
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('cmp-a2', self._host_of(server))
        self.assertEqual('xs-a2', self._show_server(server)[
            'OS-EXT-SRV-ATTR:hypervisor_hostname'])
        pool, vm = self.the_vm(server)
        self.assertEqual('rescue', vm['other_config']['nova_rescue_lm_role'])
        self.assertEqual('xs-a2', vm['resident_on'])
        self.assertEqual([(dev + 1, vdi) for dev, vdi in original],
                         self.layout(vm)[1:])

        server = self._unrescue_server(server)
        self.assertEqual('cmp-a2', self._host_of(server))
        pool, vm = self.the_vm(server)
        self.assertEqual('instance',
                         vm['other_config']['nova_rescue_lm_role'])
        self.assertEqual('xs-a2', vm['resident_on'])
        self.assertEqual(original, self.layout(vm))
        self.assertEqual(b'GUEST-DATA', self.pools['pool-a'].vdi_bytes(
            root)[512:522])
        self.assertNotIn('rescue', {kind for (_p, kind, _d)
                                    in self.disks_of(server)})
        sysmeta = self._instance(server).system_metadata
        self.assertFalse([k for k in sysmeta if k.startswith('rescue_lm_')])

    def test_conductor_handles_only_objects_stock_nova_registers(self):
        seen = []
        real_check = rpcapi.ComputeAPI.check_can_live_migrate_destination
        real_migrate = rpcapi.ComputeAPI.live_migration

        def check(rpc, *args, **kwargs):
            # The conductor's call; the answer comes from the destination.
            result = real_check(rpc, *args, **kwargs)
            seen.append(type(result))
            return result

        def migrate(rpc, *args, **kwargs):
            # The conductor's cast to the source, with that answer.
            seen.append(type(kwargs['migrate_data']))
            return real_migrate(rpc, *args, **kwargs)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.compute.rpcapi.ComputeAPI.'
            'check_can_live_migrate_destination', check))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.compute.rpcapi.ComputeAPI.live_migration', migrate))
        server = self._rescued_server()
        self._live_migrate_action(server, host='cmp-a2')
        self._wait_for_migration_status(server, ['completed'])
        self.assertEqual([migrate_data.HyperVLiveMigrateData] * 2, seen)

    def test_scheduler_picks_the_destination(self):
        server = self._rescued_server()
        self._live_migrate_action(server)
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('cmp-a2', self._host_of(server))
        self.assertEqual('xs-a2', self.the_vm(server)[1]['resident_on'])

    def test_active_server_live_migrates_too(self):
        server = self._create_server(host='cmp-a1', networks='none')
        self._live_migrate_action(server, host='cmp-a2')
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('cmp-a2', self._host_of(server))
        self.assertEqual('xs-a2', self.the_vm(server)[1]['resident_on'])

    def test_computes_follow_a_new_pool_master(self):
        # pool.designate_new_master: every session is lost and the old
        # master answers HOST_IS_SLAVE; both computes carry on without a
        # restart.
        sim = self.pools['pool-a']
        server = self._rescued_server()
        sim.designate_new_master('xs-a2')
        self._live_migrate_action(server, host='cmp-a2')
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('xs-a2', self.the_vm(server)[1]['resident_on'])
        for compute in self.computes.values():
            self.assertEqual(sim.url, compute.driver._session.url)
        server = self._unrescue_server(server)
        self.assertEqual('instance', self.the_vm(server)[1]['other_config'][
            'nova_rescue_lm_role'])

    def test_waiting_for_vif_plug_takes_the_trait_away(self):
        # nova's default: a source would wait for neutron's
        # network-vif-plugged events, which XAPI's migration causes only
        # at the end, until vif_plugging_timeout.
        self.computes['cmp-a2'].stop()
        self.flags(live_migration_wait_for_vif_plug=True, group='compute')
        sim = self.pools['pool-a']
        compute = self.start_compute('cmp-a2', sim, 'xs-a2')
        compute.manager.update_available_resource(self.ctxt)
        self.assertNotIn(base.TRAIT, self._provider_traits_of('cmp-a2'))
        self.assertIn(base.TRAIT, self._provider_traits_of('cmp-a1'))
        server = self._rescued_server()
        resp = self._live_migrate_action(server, host='cmp-a2',
                                         check_response_status=[400, 409])
        self.assertIn(resp.status, (400, 409))
        self.assertEqual('xs-a1', self.the_vm(server)[1]['resident_on'])

    def test_below_2_105_a_rescued_server_gets_409(self):
        server = self._rescued_server()
        self.api.microversion = '2.104'
        resp = self._live_migrate_action(server, host='cmp-a2',
                                         check_response_status=[409])
        self.assertEqual(409, resp.status)
        self.assertEqual('xs-a1', self.the_vm(server)[1]['resident_on'])

    def test_stop_and_start(self):
        server = self._create_server(host='cmp-a1', networks='none')
        server = self._stop_server(server)
        self.assertEqual('SHUTOFF', server['status'])
        self.assertEqual('Halted', self.the_vm(server)[1]['power_state'])
        self.assertEqual(4, self._show_server(server)[
            'OS-EXT-STS:power_state'])
        server = self._start_server(server)
        self.assertEqual('Running', self.the_vm(server)[1]['power_state'])
        self.assertEqual('xs-a1', self.the_vm(server)[1]['resident_on'])

    def test_hard_reboot_of_a_rescued_server(self):
        server = self._create_server(host='cmp-a1', networks='none')
        original = self.layout(self.the_vm(server)[1])
        server = self._rescue_server(server)
        # nova answers 409 to a reboot of a RESCUED server, as stock nova.
        resp = self.api.api_post(
            '/servers/%s/action' % server['id'], {'reboot': {'type': 'HARD'}},
            check_response_status=[409])
        self.assertEqual(409, resp.status)
        self.assertEqual('rescue', self.the_vm(server)[1]['other_config'][
            'nova_rescue_lm_role'])
        # An operator who reset it to error gets it back with a hard
        # reboot, rebuilt from the database around its own disks.
        self.api.post_server_action(server['id'],
                                    {'os-resetState': {'state': 'error'}})
        self.assertEqual('ERROR', self._show_server(server)['status'])
        server = self._reboot_server(server, hard=True)
        self.assertEqual('ACTIVE', server['status'])
        vm = self.the_vm(server)[1]
        self.assertEqual('instance', vm['other_config']['nova_rescue_lm_role'])
        self.assertEqual(original, self.layout(vm))
        self.assertNotIn('rescue', {kind for (_p, kind, _d)
                                    in self.disks_of(server)})
        self.assertFalse([k for k in self._instance(server).system_metadata
                          if k.startswith('rescue_lm_')])

    def test_delete_rescued_server_leaves_nothing(self):
        server = self._rescued_server()
        self._delete_server(server)
        self._wait_until_deleted(server)
        self.assertEqual([], self.vms_of(server))
        self.assertEqual({}, self.disks_of(server))


class TestRollback(base.XenAPITestBase):
    """A failure inside XAPI during the migration, seen asynchronously."""

    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        self.sim = self.start_pool('pool-a', ('xs-a1', 'xs-a2'))
        self.start_compute('cmp-a1', self.sim, 'xs-a1')
        self.start_compute('cmp-a2', self.sim, 'xs-a2')

    def test_failed_pool_migrate_keeps_the_server_rescued_on_the_source(
            self):
        server = self._create_server(host='cmp-a1', networks='none')
        server = self._rescue_server(server)
        self.sim.faults.inject('VM.pool_migrate', code='INTERNAL_ERROR',
                               params=['boom'], times=1)
        resp = self._live_migrate_action(server, host='cmp-a2')
        self.assertEqual(202, resp.status)
        self._wait_for_migration_status(server, ['failed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('cmp-a1', self._host_of(server))
        self.assertIsNone(self._show_server(server)['OS-EXT-STS:task_state'])
        self.assertEqual(1, self.sim.faults.count('VM.pool_migrate'))
        vm = self.the_vm(server)[1]
        self.assertEqual('xs-a1', vm['resident_on'])
        self.assertEqual('rescue', vm['other_config']['nova_rescue_lm_role'])

        server = self._unrescue_server(server)
        self.assertEqual('cmp-a1', self._host_of(server))
        self.assertEqual('instance', self.the_vm(server)[1]['other_config'][
            'nova_rescue_lm_role'])

    def test_migration_that_outlives_the_timeout_is_completed(self):
        # XAPI finishes the move after the source stopped waiting for it
        # (migration_timeout): the server ends on the destination, as its
        # VM does, instead of being rolled back to the source.
        self.computes['cmp-a1'].stop()
        self.start_compute('cmp-a1', self.sim, 'xs-a1', migration_timeout=1)
        server = self._create_server(host='cmp-a1', networks='none')
        server = self._rescue_server(server)
        self.sim.migration_seconds = 3
        self._live_migrate_action(server, host='cmp-a2')
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('cmp-a2', self._host_of(server))
        vm = self.the_vm(server)[1]
        self.assertEqual('xs-a2', vm['resident_on'])
        self.assertEqual('rescue', vm['other_config']['nova_rescue_lm_role'])
        server = self._unrescue_server(server)
        self.assertEqual('xs-a2', self.the_vm(server)[1]['resident_on'])

    def test_failed_check_moves_nothing(self):
        server = self._create_server(host='cmp-a1', networks='none')
        server = self._rescue_server(server)
        self.sim.faults.inject('host.get_by_uuid', code='INTERNAL_ERROR',
                               params=['boom'], times=1)
        self._live_migrate_action(server, host='cmp-a2')
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('cmp-a1', self._host_of(server))
        self.assertEqual(0, self.sim.faults.count('VM.pool_migrate'))
        self.assertEqual('xs-a1', self.the_vm(server)[1]['resident_on'])


class TestGuestWithoutPVDrivers(base.XenAPITestBase):
    """Rescue images without the guest tools: XAPI's VM_LACKS_FEATURE."""

    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        # Servers' own images have the guest tools, rescue images not.
        self.sim = self.start_pool(
            'pool-a', ('xs-a1', 'xs-a2'), guest_agent=lambda vm: vm[
                'other_config'].get('nova_rescue_lm_role') != 'rescue')
        self.start_compute('cmp-a1', self.sim, 'xs-a1')
        self.start_compute('cmp-a2', self.sim, 'xs-a2')

    def test_rescued_server_is_refused_before_anything_moves(self):
        server = self._create_server(host='cmp-a1', networks='none')
        server = self._rescue_server(server)
        resp = self._live_migrate_action(server, host='cmp-a2')
        self.assertEqual(202, resp.status)
        self._wait_for_migration_status(server, ['error'])
        self._wait_for_instance_action_event(
            server, 'live-migration', 'conductor_live_migrate_instance',
            'Error')
        # nova's scheduler tried the requested host, whose pre-check gave
        # the reason; the API says NoValidHost, the conductor's log why.
        self.assertIn('(VM_LACKS_FEATURE). Rescue the server from an image',
                      self.stdlog.logger.output)
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('cmp-a1', self._host_of(server))
        self.assertEqual(0, self.sim.faults.count('VM.pool_migrate'))
        self.assertEqual('xs-a1', self.the_vm(server)[1]['resident_on'])
        # Unrescued (the server's own guest has the tools), it moves.
        server = self._unrescue_server(server)
        self._live_migrate_action(server, host='cmp-a2')
        self._wait_for_migration_status(server, ['completed'])
        self.assertEqual('xs-a2', self.the_vm(server)[1]['resident_on'])

    def test_stop_and_soft_reboot_fall_back_without_the_guest_tools(self):
        server = self._create_server(host='cmp-a1', networks='none')
        self.sim.set_guest_agent(self.the_vm(server)[1]['uuid'],
                                 present=False)
        self._reboot_server(server)
        self.assertEqual(1, self.sim.faults.count('VM.clean_reboot'))
        vm = self.the_vm(server)[1]
        self.assertEqual(('Running', 'xs-a1'), (vm['power_state'],
                                                vm['resident_on']))
        self.sim.set_guest_agent(vm['uuid'], present=False)
        server = self._stop_server(server)
        self.assertEqual(1, self.sim.faults.count('VM.clean_shutdown'))
        self.assertEqual('Halted', self.the_vm(server)[1]['power_state'])


class TestLocalStorage(base.XenAPITestBase):
    """A pool without shared storage: each compute uses its host's own SR.

    The master cannot see xs-a2's local SR: XAPI answers cmp-a2's disk
    uploads with a 302 to xs-a2, and within the pool the disks move with
    VM.migrate_send (no VIF mapping there).
    """

    def setUp(self):
        super().setUp()
        self.sim = self.start_pool('pool-a', ('xs-a1', 'xs-a2'),
                                   shared_sr=False)
        session = XenAPI.Session(self.sim.url)
        session.login_with_password('root', 'secret', '1.3', 'tests')
        for host in ('xs-a1', 'xs-a2'):
            session.xenapi.SR.add_to_other_config(
                self.sim.local_sr_ref(host), 'nova-sr', host)
        session.xenapi.session.logout()
        for host in ('xs-a1', 'xs-a2'):
            self.start_compute('cmp-' + host[3:], self.sim, host,
                               sr_matching_filter='other-config:nova-sr=' +
                               host)

    def test_rescue_and_migrate_a_server_on_a_members_local_storage(self):
        server = self._create_server(
            host='cmp-a2', networks=[{'uuid': self.neutron.network_1['id']}])
        self.assertEqual(1, self.sim.faults.count('import_raw_vdi@302'))
        server = self._rescue_server(server)
        self.assertEqual(2, self.sim.faults.count('import_raw_vdi@302'))
        vm = self.the_vm(server)[1]
        self.assertEqual('xs-a2', vm['resident_on'])
        self._live_migrate_action(server, host='cmp-a1')
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        vm = self.the_vm(server)[1]
        self.assertEqual('xs-a1', vm['resident_on'])
        self.assertEqual(1, len(vm['vifs']))
        local_a1 = self.sim.local_sr_ref('xs-a1')
        self.assertEqual({local_a1}, {
            vdi['sr_ref'] for vdi in self.disks_of(server).values()})
        server = self._unrescue_server(server)
        self.assertEqual('cmp-a1', self._host_of(server))


def _start_two_pools(test):
    """Computes cmp-a1 and cmp-b1, each alone in its own pool."""
    test.start_compute('cmp-a1', test.start_pool('pool-a', ('xs-a1',)),
                       'xs-a1')
    test.start_compute('cmp-b1', test.start_pool('pool-b', ('xs-b1',)),
                       'xs-b1')


class TestAcrossPools(base.XenAPITestBase):
    """Each compute in its own pool: VM and disks move with migrate_send."""

    def setUp(self):
        super().setUp()
        _start_two_pools(self)

    def test_the_destination_session_stays_out_of_the_logs(self):
        # nova logs live-migrate data at debug level on both computes; the
        # migrate_receive token in it holds a session at pool-b's master.
        logs = [self.useFixture(fixtures.FakeLogger(
            name=name, level=logging.DEBUG))
            for name in ('nova', 'nova_rescue_lm', 'oslo_messaging')]
        server = self._create_server(host='cmp-a1', networks='none')
        server = self._rescue_server(server)
        self._live_migrate_action(server, host='cmp-b1')
        self._wait_for_migration_status(server, ['completed'])
        self._wait_for_state_change(server, 'RESCUE')
        output = ''.join(log.output for log in logs)
        self.assertEqual([], re.findall(
            r".{0,120}session_id\W{0,4}OpaqueRef", output))
        self.assertIn("session_id='***'", output)  # nova logged the token

    def test_rescue_migrate_unrescue_on_the_other_pool(self):
        server = self._create_server(
            host='cmp-a1',
            networks=[{'uuid': self.neutron.network_1['id']}])
        pool, vm = self.the_vm(server)
        self.assertEqual('pool-a', pool)
        original = self.layout(vm)
        mac = vm['vifs'][0]['MAC']
        self.pools['pool-a'].write_vdi(original[0][1], b'GUEST-DATA',
                                       offset=512)
        server = self._rescue_server(server)

        resp = self._live_migrate_action(server, host='cmp-b1')
        self.assertEqual(202, resp.status)
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('cmp-b1', self._host_of(server))
        pool, vm = self.the_vm(server)  # one VM, in all pools
        self.assertEqual('pool-b', pool)
        self.assertEqual('rescue', vm['other_config']['nova_rescue_lm_role'])
        self.assertEqual([mac], [v['MAC'] for v in vm['vifs']])
        self.assertEqual({'pool-b'}, {p for (p, _k, _d)
                                      in self.disks_of(server)})

        server = self._unrescue_server(server)
        self.assertEqual('cmp-b1', self._host_of(server))
        pool, vm = self.the_vm(server)
        self.assertEqual(('pool-b', 'instance', 'xs-b1'), (
            pool, vm['other_config']['nova_rescue_lm_role'],
            vm['resident_on']))
        self.assertEqual([dev for dev, _vdi in original],
                         [dev for dev, _vdi in self.layout(vm)])
        root = self.layout(vm)[0][1]
        self.assertEqual(b'GUEST-DATA',
                         self.pools['pool-b'].vdi_bytes(root)[512:522])
        self.assertEqual({('pool-b', 'root', '0')},
                         set(self.disks_of(server)))
        self.assertEqual([mac], [v['MAC'] for v in vm['vifs']])


class TestUnsupported(base.XenAPITestBase):
    """What the driver does not implement, as a user meets it."""

    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        self.start_compute('cmp-a1', self.start_pool('pool-a', ('xs-a1',)),
                           'xs-a1')

    def test_pause_and_suspend_leave_the_server_as_it_was(self):
        server = self._create_server(host='cmp-a1', networks='none')
        vm = self.the_vm(server)[1]
        for action in ('pause', 'suspend'):
            resp = self.api.api_post('/servers/%s/action' % server['id'],
                                     {action: None})
            self.assertEqual(202, resp.status)
            self._wait_for_instance_action_event(
                server, action, 'compute_%s_instance' % action, 'Error')
            # nova records the event's error before reverts_task_state
            # clears the task state: wait for what the user ends up with.
            self._wait_for_server_parameter(server, {
                'status': 'ACTIVE', 'OS-EXT-STS:task_state': None})
        self.assertEqual(vm['ref'], self.the_vm(server)[1]['ref'])
        self.assertEqual('Running', self.the_vm(server)[1]['power_state'])


class TestAcrossPoolsWithImages(base.XenAPITestBase):
    """A VHD server, a raw rescue image given at the API, two pools."""

    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        _start_two_pools(self)
        self._add_image(VHD_IMAGE, 'vhd', vhd.make_dynamic(
            VHD_DATA, size=64 * 1024 * 1024))
        self._add_image(RESCUE_IMAGE, 'raw', RESCUE_DATA)

    def _add_image(self, image_id, disk_format, data):
        stamp = datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)
        self.glance.create(None, {
            'id': image_id, 'name': 'image-' + image_id[-4:],
            'status': 'active', 'visibility': 'public', 'is_public': True,
            'container_format': 'bare', 'disk_format': disk_format,
            'size': len(data), 'min_ram': 0, 'min_disk': 0,
            'created_at': stamp, 'updated_at': stamp, 'deleted': False,
            'deleted_at': None, 'protected': False,
            'properties': {}}, data=io.BytesIO(data))

    def _vdi_bytes(self, pool, vdi, length):
        return self.pools[pool].vdi_bytes(vdi)[:length]

    def test_vhd_server_rescued_from_a_raw_image_moves_pools(self):
        server = self._create_server(host='cmp-a1', networks='none',
                                     image_uuid=VHD_IMAGE)
        pool, vm = self.the_vm(server)
        root = self.layout(vm)[0][1]
        self.assertEqual(VHD_DATA, self._vdi_bytes(pool, root,
                                                   len(VHD_DATA)))
        self.api.post_server_action(server['id'], {'rescue': {
            'rescue_image_ref': RESCUE_IMAGE}})
        server = self._wait_for_state_change(server, 'RESCUE')
        pool, vm = self.the_vm(server)
        self.assertEqual(RESCUE_DATA, self._vdi_bytes(
            pool, self.layout(vm)[0][1], len(RESCUE_DATA)))
        self.assertEqual(RESCUE_IMAGE, self._instance(
            server).system_metadata['rescue_lm_image_ref'])

        # A failure inside XAPI first: rolled back, nothing moved.
        self.pools['pool-a'].faults.inject(
            'VM.migrate_send', code='SR_BACKEND_FAILURE_44',
            params=['', 'There is insufficient space', ''], times=1)
        self._live_migrate_action(server, host='cmp-b1')
        self._wait_for_migration_status(server, ['failed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('cmp-a1', self._host_of(server))
        self.assertEqual('pool-a', self.the_vm(server)[0])
        self.assertEqual(set(), {p for (p, _k, _d) in self.disks_of(server)
                                 if p == 'pool-b'})

        # Then for real.
        self._live_migrate_action(server, host='cmp-b1')
        migration = self._wait_for_migration_status(server, ['completed'])
        self.assertEqual('cmp-b1', migration['dest_compute'])
        server = self._wait_for_state_change(server, 'RESCUE')
        pool, vm = self.the_vm(server)
        self.assertEqual(('pool-b', 'xs-b1'), (pool, vm['resident_on']))
        self.assertEqual(RESCUE_DATA, self._vdi_bytes(
            pool, self.layout(vm)[0][1], len(RESCUE_DATA)))

        server = self._unrescue_server(server)
        pool, vm = self.the_vm(server)
        self.assertEqual('pool-b', pool)
        self.assertEqual(VHD_DATA, self._vdi_bytes(
            pool, self.layout(vm)[0][1], len(VHD_DATA)))
        self.assertEqual({('pool-b', 'root', '0')},
                         set(self.disks_of(server)))
