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

"""A compute switched back to nova's own driver keeps the trait in placement.

nova never removes a custom trait its driver does not name, so the trait
alone would send a rescued server to a driver that loses its ephemeral disk
and fills the rescue image's cache entry with the server's image. Each layer
must refuse on its own: the API (400 naming the node), the scheduler (never
picks the node) and the source compute (its pre-check, before anything
moves), and the server stays RESCUE, running on the source, with its data.
"""

import os
from unittest import mock

from tests.functional import base
from tests.functional import block_base
from tests.functional.block_base import EPHEMERAL_WRITE
from tests.functional.block_base import guest_read
from tests.functional.block_base import guest_write
from tests.functional.block_base import RESCUE_IMAGE
from tests.functional.block_base import ROOT_WRITE

STALE = 'its %s trait is stale' % base.TRAIT


class TestDestinationBackOnNovasDriver(block_base.BlockMigrationTestBase):

    CAST_AS_CALL = False  # the conductor and source refuse after the 202

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')
        self._create_rescue_image(RESCUE_IMAGE)
        self.server = self._rescue_with(self._create_full_server(),
                                        RESCUE_IMAGE)
        src = self.instance_dir('src', self.server)
        guest_write(os.path.join(src, 'disk'), *ROOT_WRITE)
        guest_write(os.path.join(src, 'disk.eph0'), *EPHEMERAL_WRITE)

        # The operator switches dest back to nova's driver; nova leaves the
        # trait on its resource provider.
        self._drivers['dest'] = base.STOCK_DRIVER
        self.restart_compute_service('dest')
        self.assertIn(base.TRAIT, self._get_provider_traits(
            self.compute_rp_uuids['dest']))
        self.dest_files = self._files('dest')

    def _files(self, host):
        root = self.instances_root(host)
        return sorted(os.path.relpath(os.path.join(d, f), root)
                      for d, _dirs, files in os.walk(root) for f in files)

    def _assert_nothing_moved(self):
        server = self._wait_for_state_change(self.server, 'RESCUE')
        self.assertEqual('src', self._host_of(server))
        self.assertEqual([], self.migrations)  # the hypervisor was not asked
        # The destination's image cache and instance directories untouched.
        self.assertEqual(self.dest_files, self._files('dest'))
        self.assertFalse(os.path.exists(
            self.cache_file('dest', RESCUE_IMAGE)))
        self.assertFalse(os.path.exists(self.instance_dir('dest', server)))
        # Still running in its rescue domain on the source.
        disks = self._domain_disks('src', server)
        self.assertTrue(disks[0][1].endswith('/disk.rescue'), disks)
        server = self._unrescue_server(server)
        self.assertEqual('src', self._host_of(server))
        src = self.instance_dir('src', server)
        for name, (offset, pattern, length) in (
                ('disk', ROOT_WRITE), ('disk.eph0', EPHEMERAL_WRITE)):
            self.assertEqual(bytes([pattern]) * length,
                             guest_read(os.path.join(src, name), offset,
                                        length), name)

    def _event_text(self):
        action = self.api.get_instance_actions(self.server['id'])[0]
        self.assertEqual('live-migration', action['action'])
        return str(self.api.api_get('/servers/%s/os-instance-actions/%s' % (
            self.server['id'], action['request_id'])).body['instanceAction'])

    def test_api_refuses_the_named_node(self):
        resp = self._live_migrate_action(self.server, host='dest',
                                         check_response_status=[400])
        message = resp.body['badRequest']['message']
        self.assertIn('destination compute node dest ', message)
        self.assertIn(STALE, message)
        self.assertEqual([], self._migrations_of(self.server))
        self._assert_nothing_moved()

    def test_scheduler_never_picks_it(self):
        self.assertEqual(202, self._live_migrate_action(self.server).status)
        self._wait_for_migration_status(self.server, ['error'])
        self.assertIn('No valid host', self._event_text())
        self._assert_nothing_moved()

    def test_source_refuses_what_slips_past_the_api_and_scheduler(self):
        # An API node that trusts the trait alone, and a scheduler without
        # nova's ComputeCapabilitiesFilter: only the source can stop it.
        with mock.patch('nova_rescue_lm.compute.capability.why_not_capable',
                        return_value=None), mock.patch(
                'nova.scheduler.filters.compute_capabilities_filter.'
                'ComputeCapabilitiesFilter.host_passes', return_value=True):
            self.assertEqual(202, self._live_migrate_action(
                self.server, host='dest').status)
            self._wait_for_migration_status(self.server, ['error'])
        event = self._event_text()
        self.assertIn('destination node dest: ' + STALE, event)
        self._assert_nothing_moved()
