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

"""Requests that meet a rescued server's live migration while it runs.

RPC casts stay casts here (``CAST_AS_CALL = False``), as in a real cloud:
the API answers 202 and the conductor and computes carry on asynchronously.
"""

import datetime
import threading

import fixtures
from nova import objects
from nova.tests.fixtures import libvirt as libvirt_fixture
from oslo_utils import timeutils

from tests.functional import base
from tests.functional import test_rolling_upgrade


class _GatedMigration(base.RescueLiveMigrationTestBase):
    """Two computes; a migration waits in the hypervisor until released."""
    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')
        self.release = threading.Event()

    def _gated_migration(self, domain, destination, params, flags):
        self.assertTrue(self.release.wait(30), 'migration never released')
        base.RescueLiveMigrationTestBase._migrate_stub(
            self, domain, destination, params, flags)


class TestInFlight(_GatedMigration):

    def test_unrescue_while_migrating_gets_409(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.migrateToURI3',
            self._gated_migration))
        server = self._rescue_server(
            self._create_server(host='src', networks='none'))
        self.assertEqual(202, self._live_migrate_action(
            server, host='dest').status)
        self._wait_for_migration_status(server, ['running'])

        resp = self.api.api_post('/servers/%s/action' % server['id'],
                                 {'unrescue': None},
                                 check_response_status=[409])
        self.assertIn('task_state migrating',
                      resp.body['conflictingRequest']['message'])
        shown = self._show_server(server)
        self.assertEqual(('RESCUE', 'migrating'),
                         (shown['status'], shown['OS-EXT-STS:task_state']))

        self.release.set()
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('dest', self._host_of(server))
        server = self._unrescue_server(server)
        self.assertEqual('dest', self._host_of(server))


class TestRescueTimeout(_GatedMigration):
    """``[DEFAULT] rescue_timeout``: nova-compute's periodic unrescue."""

    def _expired_rescue(self):
        server = self._rescue_server(
            self._create_server(host='src', networks='none'))
        instance = objects.Instance.get_by_uuid(self.ctxt, server['id'])
        instance.launched_at = timeutils.utcnow() - datetime.timedelta(
            hours=1)
        instance.save()
        return server

    def _periodic(self, host):
        self.computes[host].manager._poll_rescued_instances(self.ctxt)

    def test_a_migrating_server_does_not_stop_the_others(self):
        self.flags(rescue_timeout=60)
        other = self._expired_rescue()
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.migrateToURI3',
            self._gated_migration))
        # The newest first: nova's periodic task meets it before the other.
        migrating = self._expired_rescue()
        self._live_migrate_action(migrating, host='dest')
        self._wait_for_migration_status(migrating, ['running'])

        self._periodic('src')
        self.assertEqual('ACTIVE', self._wait_for_state_change(
            other, 'ACTIVE')['status'])
        shown = self._show_server(migrating)
        self.assertEqual(('RESCUE', 'migrating'),
                         (shown['status'], shown['OS-EXT-STS:task_state']))

        # Once it has landed, the destination unrescues it.
        self.release.set()
        self._wait_for_migration_status(migrating, ['completed'])
        self._wait_for_state_change(migrating, 'RESCUE')
        self._periodic('dest')
        server = self._wait_for_state_change(migrating, 'ACTIVE')
        self.assertEqual('dest', self._host_of(server))


class TestNoCapableDestination(base.RescueLiveMigrationTestBase):
    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')
        self.start_compute('stock', driver=base.STOCK_DRIVER,
                           host_info=test_rolling_upgrade.BIG_HOST)

    def test_only_stock_computes_left_means_no_valid_host(self):
        service = self.api.get_services(binary='nova-compute',
                                        host='dest')[0]
        self.api.put_service(service['id'], {'status': 'disabled'})
        server = self._rescue_server(
            self._create_server(host='src', networks='none'))
        self.assertEqual(202, self._live_migrate_action(server).status)
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('src', self._host_of(server))
        self.assertEqual([], self.migrations)


class _Interrupted(base.RescueLiveMigrationTestBase):
    """A migration that dies midway, the way real libvirt reports it: the
    job ends (cancelled or failed) and the migrate call raises.
    """
    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')
        self.ended = threading.Event()

    def _migration_until_ended(self, domain, destination, params, flags):
        self.migrations.append({'destination': destination})
        self.assertTrue(self.ended.wait(30), 'migration never ended')
        raise libvirt_fixture.make_libvirtError(
            libvirt_fixture.libvirtError, self.error,
            error_code=libvirt_fixture.VIR_ERR_OPERATION_FAILED,
            error_domain=libvirt_fixture.VIR_FROM_QEMU)

    def _abort_job(self, domain):
        domain._job_type = libvirt_fixture.VIR_DOMAIN_JOB_CANCELLED
        self.ended.set()

    def _start(self, server):
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.migrateToURI3',
            self._migration_until_ended))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.abortJob', self._abort_job))
        self.assertEqual(202, self._live_migrate_action(
            server, host='dest').status)
        return self._wait_for_migration_status(server, ['running'])

    def _destination_goes_away(self, server):
        self.error = ('End of file while reading data: Input/output error')
        self._start(server)
        for dom in self.computes['src'].driver._host.get_connection(
                )._vms.values():
            dom.fail_job()
        self.ended.set()

    def _assert_rescued_on_source_and_unrescues(self, server, status):
        self._wait_for_migration_status(server, [status])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual(('src', None), (
            self._host_of(server), server['OS-EXT-STS:task_state']))
        self._assert_failure_recorded(server)
        server = self._unrescue_server(server)
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual('src', self._host_of(server))

    def _assert_failure_recorded(self, server):
        """What `openstack server event show` displays: the reason."""
        action, events = self._live_migration_action(server)
        failed = [e for e in events if e['result'] == 'Error']
        self.assertEqual(['compute_rescued_live_migration_rolled_back'],
                         [e['event'] for e in failed], events)
        self.assertIn(self.error.split(':')[0], failed[0]['details'])
        self.assertEqual('Error', action['message'])
        # nova's API shows a fault only for servers in ERROR; the server is
        # RESCUE, and the fault is recorded for the record.
        fault = objects.InstanceFault.get_latest_for_instance(
            self.ctxt, server['id'])
        self.assertIn(self.error.split(':')[0], fault.message)


class TestInterruptedMigration(_Interrupted):

    def test_aborted_migration_leaves_server_rescued_on_source(self):
        server = self._rescue_server(
            self._create_server(host='src', networks='none'))
        self.error = ('operation aborted: migration out job: '
                      'canceled by client')
        migration = self._start(server)
        self.api.api_delete('/servers/%s/migrations/%s' % (
            server['id'], migration['id']))
        self._assert_rescued_on_source_and_unrescues(server, 'cancelled')

    def test_destination_lost_leaves_server_rescued_on_source(self):
        server = self._rescue_server(
            self._create_server(host='src', networks='none'))
        self._destination_goes_away(server)
        self._assert_rescued_on_source_and_unrescues(server, 'failed')

    def test_active_server_keeps_nova_behaviour(self):
        # The rescue-only handling leaves other servers as nova 34 has them
        # (ERROR after the rollback; not this package's call to change).
        server = self._create_server(host='src', networks='none')
        self._destination_goes_away(server)
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_server_parameter(
            server, {'status': 'ERROR', 'OS-EXT-SRV-ATTR:host': 'src'},
            wait_for_fault_key=False)


class TestLostMonitor(_Interrupted):
    """nova's monitor gives up when libvirt's job statistics time out on
    the domain's state-change lock, which the migrate call holds while the
    migration network is cut; the migrate call ends on its own later
    (libvirt's keepalive), as seen on real hosts.
    """
    LOCK = ('Timed out during operation: cannot acquire state change lock '
            '(held by monitor=remoteDispatchDomainMigratePerform3Params)')

    def setUp(self):
        super().setUp()
        self.locked = threading.Event()
        #: what libvirt leaves of the source domain when its call ends
        self.outcome = 'failed'
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.migrateToURI3',
            self._migration_holding_the_lock))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.jobStats', self._job_stats))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.abortJob',
            self._abort_waits_for_the_lock))

    def _libvirt_error(self, message, code):
        return libvirt_fixture.make_libvirtError(
            libvirt_fixture.libvirtError, message, error_code=code,
            error_domain=libvirt_fixture.VIR_FROM_QEMU)

    def _migration_holding_the_lock(self, domain, destination, params,
                                    flags):
        self.locked.set()
        self.migrations.append({'destination': destination})
        self.assertTrue(self.ended.wait(30), 'migration never ended')
        if self.outcome == 'paused after the hand-over':
            # the guest started on the destination, the confirmation was
            # lost: libvirt keeps the source paused
            base.RescueLiveMigrationTestBase._migrate_stub(
                self, domain, destination, params, flags)
            domain.suspend()
        domain._job_type = libvirt_fixture.VIR_DOMAIN_JOB_NONE
        self.locked.clear()
        raise self._libvirt_error(
            self.error, libvirt_fixture.VIR_ERR_INTERNAL_ERROR)

    def _job_stats(self, domain, flags=0):
        if self.locked.is_set():
            raise self._libvirt_error(
                self.LOCK, libvirt_fixture.VIR_ERR_OPERATION_TIMEOUT)
        return {'type': domain._job_type}

    def _abort_waits_for_the_lock(self, domain):
        self.ended.set()
        raise self._libvirt_error(
            self.LOCK, libvirt_fixture.VIR_ERR_OPERATION_TIMEOUT)

    def _domains(self, host, server):
        conn = self.computes[host].driver._host.get_connection()
        return [d for d in conn._vms.values()
                if d._def['uuid'] == server['id']]

    def test_failed_in_libvirt_leaves_server_rescued_on_source(self):
        server = self._rescue_server(
            self._create_server(host='src', networks='none'))
        self.error = 'client socket is closed'
        self.assertEqual(202, self._live_migrate_action(
            server, host='dest').status)
        # nova's own rollback ran, as its monitor runs it for a failed job
        self._assert_rescued_on_source_and_unrescues(server, 'failed')
        self.assertEqual([], self._domains('dest', server))

    def test_outcome_libvirt_cannot_tell_stays_nova_s(self):
        # The source domain paused, the guest possibly running on the
        # destination: rolling back could destroy the only running guest.
        server = self._rescue_server(
            self._create_server(host='src', networks='none'))
        self.error = 'client socket is closed'
        self.outcome = 'paused after the hand-over'
        self.assertEqual(202, self._live_migrate_action(
            server, host='dest').status)
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_server_parameter(
            server, {'status': 'ERROR', 'OS-EXT-SRV-ATTR:host': 'src'},
            wait_for_fault_key=False)
        self.assertEqual([1], [d.isActive() for d in self._domains(
            'dest', server)])
        _action, events = self._live_migration_action(server)
        self.assertNotIn('compute_rescued_live_migration_rolled_back',
                         [e['event'] for e in events])
