"""Rescue, live-migrate at 2.105 and unrescue through nova's real services."""

import os

from nova.virt.libvirt import utils as libvirt_utils

from tests.functional import base


class TestLiveMigrateRescued(base.RescueLiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')

    def test_rescue_migrate_unrescue_to_explicit_host(self):
        server = self._create_server(host='src', networks='none')
        server = self._rescue_server(server)
        self.assertEqual('src', self._host_of(server))

        resp = self._live_migrate_action(server, host='dest')
        self.assertEqual(202, resp.status)
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('dest', self._host_of(server))
        self.assertEqual(['dest'],
                         [m['destination'] for m in self.migrations])
        # The rescue domain itself runs on the destination now.
        rescue_disks = self._domain_disks('dest', server)
        self.assertTrue(rescue_disks[0][1].endswith('/disk.rescue'),
                        rescue_disks)
        self.assertEqual('rescued', self._show_server(server)['OS-EXT-STS:vm_state'])

        server = self._unrescue_server(server)
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual('dest', self._host_of(server))
        disks = self._domain_disks('dest', server)
        self.assertTrue(disks)
        self.assertFalse([d for d in disks if d[1].endswith('.rescue')],
                         disks)
