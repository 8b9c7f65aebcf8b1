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

"""Rescue, live-migrate at 2.105 and unrescue through nova's real services."""

import os

import fixtures

from tests.functional import base


class TestLiveMigrateRescued(base.RescueLiveMigrationTestBase):
    """Two computes, both running the package's libvirt driver."""

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')

    def _rescued_server(self):
        server = self._create_server(host='src', networks='none')
        return self._rescue_server(server)

    def _instance(self, server):
        from nova import objects
        return objects.Instance.get_by_uuid(
            self.ctxt, server['id'], expected_attrs=['system_metadata'])

    def test_rescue_migrate_unrescue_to_explicit_host(self):
        server = self._rescued_server()
        self.assertEqual('src', self._host_of(server))
        sysmeta = self._instance(server).system_metadata
        self.assertEqual('legacy', sysmeta['rescue_lm_mode'])
        self.assertEqual(server['image']['id'], sysmeta['rescue_lm_image_ref'])
        self.assertFalse(os.path.exists(
            os.path.join(self._instance_dir(server), 'unrescue.xml')))

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
        self.assertEqual('rescued',
                         self._show_server(server)['OS-EXT-STS:vm_state'])

        server = self._unrescue_server(server)
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual('dest', self._host_of(server))
        disks = self._domain_disks('dest', server)
        self.assertEqual('vda', disks[0][0])
        self.assertTrue(disks[0][1].endswith('/disk'), disks)
        self.assertFalse([d for d in disks if d[1].endswith('.rescue')],
                         disks)
        sysmeta = self._instance(server).system_metadata
        self.assertFalse([k for k in sysmeta if k.startswith('rescue_lm_')])

    def test_active_server_live_migrates_at_2_105(self):
        server = self._create_server(host='src', networks='none')
        resp = self._live_migrate_action(server, host='dest')
        self.assertEqual(202, resp.status)
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('dest', self._host_of(server))

    def _assert_nothing_moved(self, server):
        shown = self._show_server(server)
        self.assertEqual('RESCUE', shown['status'])
        self.assertIsNone(shown['OS-EXT-STS:task_state'])
        self.assertEqual('src', shown['OS-EXT-SRV-ATTR:host'])
        self.assertEqual([], self._migrations_of(server))
        self.assertEqual([], self.migrations)

    def test_409_below_2_105_byte_for_byte_as_stock_nova(self):
        server = self._rescued_server()
        path = '/servers/%s/action' % server['id']
        for version, body in (
            ('2.104', {'os-migrateLive': {'host': 'dest',
                                          'block_migration': 'auto'}}),
            ('2.68', {'os-migrateLive': {'host': 'dest',
                                         'block_migration': 'auto'}}),
            (None, {'os-migrateLive': {'host': 'dest',
                                       'block_migration': False,
                                       'disk_over_commit': False}}),
        ):
            ours = self._wsgi_request(base.PASTE_INI, 'POST', path, body,
                                      microversion=version)
            stock = self._wsgi_request(base.STOCK_PASTE_INI, 'POST', path,
                                       body, microversion=version)
            self.assertEqual(409, ours.status_int, ours.body)
            self.assertEqual(stock.status_int, ours.status_int)
            self.assertEqual(stock.body, ours.body)
            self.assertIn(b"while it is in vm_state rescued", ours.body)
        self._assert_nothing_moved(server)

    def test_other_requests_identical_at_2_105_and_2_104(self):
        self._create_server(host='src', networks='none')
        for path in ('/servers/detail', '/flavors/detail',
                     '/os-hypervisors/detail', '/os-services'):
            at_2_104 = self._wsgi_request(base.PASTE_INI, 'GET', path,
                                          microversion='2.104')
            at_2_105 = self._wsgi_request(base.PASTE_INI, 'GET', path,
                                          microversion='2.105')
            self.assertEqual(200, at_2_105.status_int, at_2_105.body)
            if path == '/os-services':
                # a service's heartbeat may land between the two requests
                self.assertEqual(_without_heartbeats(at_2_104.json),
                                 _without_heartbeats(at_2_105.json))
                continue
            self.assertEqual(at_2_104.body, at_2_105.body, path)
            self.assertEqual('compute 2.105',
                             at_2_105.headers['OpenStack-API-Version'])

    def test_version_documents_advertise_2_106(self):
        root = self._wsgi_request(base.PASTE_INI, 'GET', '')
        self.assertEqual(200, root.status_int)
        self.assertEqual('2.106', root.json['version']['version'])
        versions = self.api.api_get('/', strip_version=True).body
        v21 = [v for v in versions['versions'] if v['id'] == 'v2.1'][0]
        self.assertEqual('2.106', v21['version'])

    def test_rollback_keeps_server_rescued_on_source(self):
        server = self._rescued_server()

        def failing_migration(domain, destination, params, flags):
            self.migrations.append({'destination': destination})
            domain.fail_job()

        self._migrate_stub = failing_migration
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.migrateToURI3',
            failing_migration))
        resp = self._live_migrate_action(server, host='dest')
        self.assertEqual(202, resp.status)
        self._wait_for_migration_status(server, ['failed', 'error'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('src', self._host_of(server))
        self.assertEqual(1, len(self.migrations))
        rescue_disks = self._domain_disks('src', server)
        self.assertTrue(rescue_disks[0][1].endswith('/disk.rescue'))

        server = self._unrescue_server(server)
        self.assertEqual('src', self._host_of(server))
        self.assertFalse([d for d in self._domain_disks('src', server)
                          if d[1].endswith('.rescue')])

    def test_bad_input_gets_4xx_and_changes_nothing(self):
        server = self._rescued_server()
        path = '/servers/%s/action' % server['id']
        cases = [
            ('unknown host', {'os-migrateLive': {
                'host': 'nowhere', 'block_migration': 'auto'}}, '2.105', 400),
            ('malformed body', {'os-migrateLive': {
                'hots': 'dest', 'block_migration': 'auto'}}, '2.105', 400),
            ('bad block_migration', {'os-migrateLive': {
                'host': 'dest', 'block_migration': 'perhaps'}}, '2.105', 400),
            ('force without host', {'os-migrateLive': {
                'host': None, 'block_migration': 'auto', 'force': True}},
             '2.67', 400),
            ('not an object', {'os-migrateLive': 'dest'}, '2.105', 400),
            ('microversion too new', {'os-migrateLive': {
                'host': 'dest', 'block_migration': 'auto'}}, '2.107', 406),
            ('microversion garbage', {'os-migrateLive': {
                'host': 'dest', 'block_migration': 'auto'}}, 'two', 400),
        ]
        for name, body, version, status in cases:
            resp = self._wsgi_request(base.PASTE_INI, 'POST', path, body,
                                      microversion=version)
            self.assertEqual(status, resp.status_int, '%s: %s' % (
                name, resp.body))
        for roles in ('reader,member', 'reader'):
            resp = self._wsgi_request(
                base.PASTE_INI, 'POST', path,
                {'os-migrateLive': {'host': 'dest',
                                    'block_migration': 'auto'}},
                microversion='2.105', roles=roles, user='someone')
            self.assertEqual(403, resp.status_int, resp.body)
        self._assert_nothing_moved(server)
        self.assertEqual('RESCUE', self._unrescue_needed(server))

    def _unrescue_needed(self, server):
        return self._show_server(server)['status']


def _without_heartbeats(services):
    return [dict(service, updated_at=None)
            for service in services['services']]
