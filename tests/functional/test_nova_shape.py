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

"""A nova whose internals differ switches the feature off; nothing goes down.

nova-api keeps serving nova's own behaviour (maximum 2.104, 409 for a
rescued server), a compute starts and reports no capability, and a point
release whose internals are unchanged works at 2.105.
"""

from importlib import metadata
from unittest import mock

from nova.api.openstack.compute import migrate_server
from nova.virt.libvirt import driver as libvirt_driver
from oslo_serialization import jsonutils

from nova_rescue_lm import capability
from tests.functional import base
from tests.unit import fakes


def _migrate_live(self, req, id, body, new_argument=None):
    """nova's ``_migrate_live`` as a later nova might have it."""


def _live_migration(self, context, instance, dest, post_method,
                    recover_method, block_migration, migrate_data,
                    new_argument=None):
    """nova's ``_live_migration`` as a later nova might have it."""


class TestNovaShape(base.RescueLiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')
        self.server = self._rescue_server(
            self._create_server(host='src', networks='none'))

    def _fresh_api_process(self):
        """nova's maximum, nova_shape not asked yet: the state of a new
        nova-api worker (restored afterwards).
        """
        self.useFixture(fakes.MicroversionState())

    def _version_document(self):
        resp = self._wsgi_request(base.PASTE_INI, 'GET', '/')
        self.assertEqual(200, resp.status_int, resp.body)
        return jsonutils.loads(resp.body)['version']['version']

    def _migrate(self, microversion):
        return self._wsgi_request(
            base.PASTE_INI, 'POST', '/servers/%s/action' % self.server['id'],
            {'os-migrateLive': {'host': 'dest', 'block_migration': 'auto'}},
            microversion=microversion)

    def test_point_release_works_at_2_105(self):
        self._fresh_api_process()
        real = metadata.version
        with mock.patch('importlib.metadata.version',
                        side_effect=lambda n: '34.0.1' if n == 'nova'
                        else real(n)):
            self.assertEqual('2.106', self._version_document())
            resp = self._migrate('2.105')
        self.assertEqual(202, resp.status_int, resp.body)
        self._wait_for_migration_status(self.server, ['completed'])
        server = self._wait_for_state_change(self.server, 'RESCUE')
        self.assertEqual('dest', self._host_of(server))

    def test_changed_api_internal_serves_novas_behaviour(self):
        self._fresh_api_process()
        with mock.patch.object(migrate_server.MigrateServerController,
                               '_migrate_live', _migrate_live):
            self.assertEqual('2.104', self._version_document())
            too_new = self._migrate('2.105')
        # Restore nova's method: what is left is nova's own behaviour.
        self.assertEqual(406, too_new.status_int, too_new.body)
        resp = self._migrate('2.104')
        self.assertEqual(409, resp.status_int, resp.body)
        self.assertIn('in vm_state rescued', resp.text)
        log = self.stdlog.logger.output
        self.assertEqual(1, log.count(
            'live migration and evacuation of rescued servers are switched '
            'off in nova-api'))
        self.assertIn('MigrateServerController._migrate_live(self, req, id, '
                      'body, new_argument=None)', log)
        self.api.microversion = '2.104'  # all this API offers now
        self.assertEqual('src', self._host_of(self.server))
        self.assertEqual('RESCUE', self._show_server(self.server)['status'])

    def test_changed_driver_internal_compute_starts_without_capability(self):
        # a new nova-compute process asks nova_shape afresh
        fakes.clear_shape_caches()
        self.addCleanup(fakes.clear_shape_caches)
        with mock.patch.object(libvirt_driver.LibvirtDriver,
                               '_live_migration', _live_migration):
            self.restart_compute_service('dest')
        self.assertNotIn(base.TRAIT, self._get_provider_traits(
            self.compute_rp_uuids['dest']))
        node = self.computes['dest'].manager.rt.compute_nodes['dest']
        self.assertEqual('False', node.stats[capability.STAT])
        self.assertIn('switched off in the libvirt driver',
                      self.stdlog.logger.output)
        resp = self._live_migrate_action(self.server, host='dest',
                                         check_response_status=[400])
        self.assertIn('destination compute node dest ',
                      resp.body['badRequest']['message'])
        # An ACTIVE server still live-migrates through nova's own code.
        active = self._create_server(host='src', networks='none')
        self._live_migrate_action(active, host='dest')
        self._wait_for_migration_status(active, ['completed'])
        self.assertEqual('dest', self._host_of(active))
