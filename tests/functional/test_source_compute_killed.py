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

"""The source's nova-compute dies during a rescued server's live migration.

libvirt goes on without it. The fake hypervisor here does what libvirt
does: the migration either completes (the domain leaves the source and runs
on the destination) or is still running when nova-compute comes back.
nova-compute's death is its migration threads stopping where they are: the
hypervisor raises :class:`Killed` in them, an exception nova does not
handle, then the compute is started again on the same hypervisor.
"""

import os
import threading
import time
from unittest import mock
from urllib import parse

import fixtures
from nova import conf as nova_conf
from nova.tests.fixtures import libvirt as fakelibvirt

from tests.functional import block_base
from tests.functional.block_base import guest_read
from tests.functional.block_base import guest_write
from tests.functional.block_base import RESCUE_IMAGE
from tests.functional.block_base import ROOT_WRITE

CONF = nova_conf.CONF


class Killed(BaseException):
    """nova-compute's SIGKILL, as a test can give it to threads."""


class TestSourceComputeKilled(block_base.BlockMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')
        self._create_rescue_image(RESCUE_IMAGE)
        #: threads of the source compute's migration (hypervisor callers)
        self.old_threads = set()
        self.dead = []
        self.killed = threading.Event()
        self.in_libvirt = threading.Event()
        #: the source domain's job as libvirt reports it, while it runs
        self.job = None
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.migrateToURI3',
            self._migration))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.jobStats', self._job_stats))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.abortJob', self._abort_job))
        # the source's driver asks the destination's libvirt (migration URI)
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.driver.libvirt.openReadOnly',
            lambda uri: self.computes[parse.urlparse(
                uri).hostname].driver._host.get_connection()))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Connection.close', lambda conn: 0))

    # the hypervisor

    def _die_if_killed(self):
        ident = threading.get_ident()
        if self.killed.is_set() and ident in self.old_threads:
            # (a later thread may get the same ident)
            self.old_threads.discard(ident)
            self.dead.append(ident)
            raise Killed()

    def _job_stats(self, domain, flags=0):
        self._die_if_killed()
        if not self.killed.is_set():
            self.old_threads.add(threading.get_ident())
        if self.job is not None and domain._def['uuid'] == self.uuid:
            return {'type': self.job}
        return {'type': domain._job_type}

    def _abort_job(self, domain):
        if self.job == fakelibvirt.VIR_DOMAIN_JOB_UNBOUNDED:
            self.job = fakelibvirt.VIR_DOMAIN_JOB_CANCELLED

    def _migration(self, domain, destination, params, flags):
        self.old_threads.add(threading.get_ident())
        self.job = fakelibvirt.VIR_DOMAIN_JOB_UNBOUNDED
        if self.libvirt_completes:
            # libvirt completes it: disks mirrored, the domain defined and
            # running on the destination, gone from the source
            block_base.BlockMigrationTestBase._migrate_stub(
                self, domain, destination, params, flags)
            domain.destroy()
            domain.undefine()
            self.job = None
        self.in_libvirt.set()
        self.assertTrue(self.killed.wait(60), 'never killed')
        self._die_if_killed()

    def _kill_source_compute_during_migration(self, server, journal=True):
        self.uuid = server['id']
        self.assertEqual(202, self._live_migrate_action(
            server, host='dest').status)
        self.assertTrue(self.in_libvirt.wait(60))
        self.killed.set()
        self._wait_for(lambda: len(self.dead) >= 2, 'migration threads dead')
        # as nova-compute left them: the migration runs, the task too
        shown = self._show_server(server)
        self.assertEqual(('RESCUE', 'migrating', 'src'), (
            shown['status'], shown['OS-EXT-STS:task_state'],
            shown['OS-EXT-SRV-ATTR:host']))
        self.assertEqual(['running'], [
            m['status'] for m in self._migrations_of(server)])
        self.assertEqual(journal, bool(os.listdir(self._journal_dir())))
        self._starting = 'src'
        try:
            self.restart_compute_service('src')
        finally:
            self._starting = None
        self._driver_hosts[id(self.computes['src'].driver)] = 'src'

    def _wait_for(self, predicate, what, seconds=30):
        for _ in range(seconds * 10):
            if predicate():
                return
            time.sleep(0.1)
        self.fail('timed out waiting for %s' % what)

    # what an operator sees

    def _journal_dir(self):
        return os.path.join(CONF.state_path, 'rescue_lm', 'live-migrations')

    def _allocated_hosts(self, consumer):
        rps = {self._get_provider_uuid_by_host(h): h for h in self.computes}
        return sorted(rps[rp] for rp in
                      self._get_allocations_by_server_uuid(consumer))

    def _rescued_with_data(self):
        server = self._rescue_with(self._create_full_server(), RESCUE_IMAGE)
        guest_write(os.path.join(self.instance_dir('src', server), 'disk'),
                    *ROOT_WRITE)
        return server

    def _assert_root_data(self, host, server):
        offset, pattern, length = ROOT_WRITE
        self.assertEqual(bytes([pattern]) * length, guest_read(
            os.path.join(self.instance_dir(host, server), 'disk'), offset,
            length))

    def _settled(self, server, status):
        """The server once its migration ended (in a thread after the
        compute started).
        """
        self._wait_for_migration_status(server, [status])
        return self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None})

    def test_migration_libvirt_completed_is_finished_at_restart(self):
        self.libvirt_completes = True
        server = self._rescued_with_data()
        rescue = self._domain_disks('src', server)
        self._kill_source_compute_during_migration(server)

        server = self._settled(server, 'completed')
        self.assertEqual(('RESCUE', 'dest'), (
            server['status'], server['OS-EXT-SRV-ATTR:host']))
        [migration] = self._migrations_of(server)
        self.assertEqual('completed', migration['status'])
        # placement: the server on dest only; the migration holds nothing
        self.assertEqual(['dest'], self._allocated_hosts(server['id']))
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            migration['uuid']))
        # the rescue guest runs on dest from dest's files; nothing on src
        conn = self.computes['dest'].driver._host.get_connection()
        self.assertEqual(fakelibvirt.VIR_DOMAIN_RUNNING,
                         conn.lookupByUUIDString(server['id']).info()[0])
        self.assertEqual(
            [(dev, self.on_host(path, 'dest')) for dev, path in rescue],
            self._domain_disks('dest', server))
        self.assertRaises(fakelibvirt.libvirtError, self.computes[
            'src'].driver._host.get_connection().lookupByUUIDString,
            server['id'])
        self.assertFalse(os.path.exists(self.instance_dir('src', server)))
        self.assertEqual([], os.listdir(self._journal_dir()))

        server = self._unrescue_server(server)
        self.assertEqual(('ACTIVE', 'dest'),
                         (server['status'], self._host_of(server)))
        self._assert_root_data('dest', server)

    def test_migration_still_running_is_rolled_back_at_restart(self):
        self.libvirt_completes = False
        server = self._rescued_with_data()
        self._kill_source_compute_during_migration(server)

        server = self._settled(server, 'error')
        self.assertEqual(('RESCUE', 'src'), (
            server['status'], server['OS-EXT-SRV-ATTR:host']))
        self.assertEqual(fakelibvirt.VIR_DOMAIN_JOB_CANCELLED, self.job)
        [migration] = self._migrations_of(server)
        self.assertEqual('error', migration['status'])
        self.assertEqual(['src'], self._allocated_hosts(server['id']))
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            migration['uuid']))
        # what pre_live_migration made on dest is gone
        self.assertFalse(os.path.exists(self.instance_dir('dest', server)))
        self.assertEqual([], os.listdir(self._journal_dir()))
        events = {e['event']: e.get('details') or ''
                  for e in self._live_migration_action(server)[1]}
        self.assertIn('nova-compute stopped during the live migration to '
                      'dest, and libvirt did not complete it',
                      events['compute_rescued_live_migration_rolled_back'])

        server = self._unrescue_server(server)
        self.assertEqual(('ACTIVE', 'src'),
                         (server['status'], self._host_of(server)))
        self._assert_root_data('src', server)

    def test_without_a_journal_nova_resets_the_task(self):
        """A migration that did not start here (no journal) is nova's to
        handle, as before.
        """
        self.libvirt_completes = False
        server = self._rescued_with_data()
        self.useFixture(fixtures.MockPatch(
            'nova_rescue_lm.virt.libvirt.interrupted.write'))
        os.makedirs(self._journal_dir())
        self._kill_source_compute_during_migration(server, journal=False)
        server = self._show_server(server)
        self.assertEqual(('RESCUE', None, 'src'), (
            server['status'], server['OS-EXT-STS:task_state'],
            server['OS-EXT-SRV-ATTR:host']))
        self.assertEqual(['error'], [
            m['status'] for m in self._migrations_of(server)])

    def test_destination_that_cannot_be_asked_is_not_guessed(self):
        """libvirt completed it, but the destination's libvirt does not
        answer: nothing is moved or started, only the task ends.
        """
        self.libvirt_completes = True
        server = self._rescued_with_data()
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.driver.libvirt.openReadOnly',
            mock.Mock(side_effect=fakelibvirt.make_libvirtError(
                fakelibvirt.libvirtError, 'unable to connect to server',
                error_code=fakelibvirt.VIR_ERR_INTERNAL_ERROR))))
        self._kill_source_compute_during_migration(server)

        server = self._settled(server, 'error')
        self.assertEqual(('RESCUE', 'src'), (
            server['status'], server['OS-EXT-SRV-ATTR:host']))
        self.assertRaises(fakelibvirt.libvirtError, self.computes[
            'src'].driver._host.get_connection().lookupByUUIDString,
            server['id'])
        self.assertIn('where the rescued server runs cannot be told',
                      self.stdlog.logger.output)
        self.assertEqual([], os.listdir(self._journal_dir()))
