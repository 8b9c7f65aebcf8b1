"""Requests that meet a rescued server's live migration while it runs.

RPC casts stay casts here (``CAST_AS_CALL = False``), as in a real cloud:
the API answers 202 and the conductor and computes carry on asynchronously.
"""

import threading

import fixtures

from tests.functional import base
from tests.functional import test_rolling_upgrade


class TestInFlight(base.RescueLiveMigrationTestBase):
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
