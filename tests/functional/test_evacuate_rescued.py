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

"""Evacuation of a rescued server at 2.106 through nova's real services.

Real disk files per host (:mod:`tests.functional.block_base`): without
shared storage every host has its own instances directory; with it, all
hosts share one. The source "loses power": its nova-compute stops and the
operator forces its service down, as before any evacuation.
"""

import os
from unittest import mock

from keystoneauth1 import exceptions as ks_exc
from nova import exception as nova_exception
from nova.scheduler.client import report

from nova_rescue_lm import capability
from nova_rescue_lm.virt import evacuation
from tests.functional import base
from tests.functional import block_base
from tests.functional.block_base import RESCUE_IMAGE
from tests.functional.block_base import ROOT_WRITE


class _EvacuateRescued(block_base.BlockMigrationTestBase):
    microversion = '2.106'

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')
        self._create_rescue_image(RESCUE_IMAGE)

    def _rescued_with_data(self):
        """A rescued server whose root the administrator was repairing."""
        server = self._rescue_with(self._create_full_server(), RESCUE_IMAGE)
        root = os.path.join(self.instance_dir('src', server), 'disk')
        block_base.guest_write(root, *ROOT_WRITE)
        return server

    def _evacuate(self, server, host=None, **kwargs):
        body = {'evacuate': {'host': host} if host else {}}
        return self.api.api_post('/servers/%s/action' % server['id'], body,
                                 **kwargs)

    def _evacuated(self, server, host=None):
        self.assertEqual(200, self._evacuate(server, host).status)
        self._wait_for_migration_status(server, ['done'])
        server = self._wait_for_state_change(server, 'SHUTOFF')
        self.assertEqual('dest', self._host_of(server))
        return server

    def _evacuate_events(self, server):
        action = [a for a in self.api.get_instance_actions(server['id'])
                  if a['action'] == 'evacuate'][0]
        events = self.api.api_get(
            '/servers/%s/os-instance-actions/%s' % (
                server['id'], action['request_id']),
        ).body['instanceAction']['events']
        return {e['event']: e['result'] for e in events}

    def _assert_rescue_ended_on_dest(self, server):
        """Nothing of the rescue: record, files, domain."""
        sysmeta = self._instance(server).system_metadata
        self.assertEqual([], [k for k in sysmeta
                              if k.startswith('rescue_lm_')])
        dest = self.instance_dir('dest', server)
        self.assertEqual([], [n for n in os.listdir(dest)
                              if n.endswith('.rescue') or
                              n == 'unrescue.xml'])
        disks = {os.path.basename(path): dev
                 for dev, path in self._domain_disks('dest', server)}
        self.assertEqual(['disk', 'disk.config', 'disk.eph0', 'disk.swap'],
                         sorted(disks))
        self.assertEqual('vda', disks['disk'])

    def _assert_nothing_changed(self, server):
        shown = self._show_server(server)
        self.assertEqual('RESCUE', shown['status'])
        self.assertIsNone(shown['OS-EXT-STS:task_state'])
        self.assertEqual('src', shown['OS-EXT-SRV-ATTR:host'])
        self.assertEqual([], self._migrations_of(server))
        self.assertTrue(self._instance(server).system_metadata.get(
            'rescue_lm_image_ref'))

    def _start_and_rescue_again(self, server):
        server = self._start_server(server)
        self.assertEqual('dest', self._host_of(server))
        server = self._rescue_with(server, RESCUE_IMAGE)
        server = self._unrescue_server(server)
        self.assertEqual('ACTIVE', server['status'])
        return server


class TestEvacuateRescued(_EvacuateRescued):
    """No shared storage: the root is rebuilt from the image."""

    def test_409_below_2_106_byte_for_byte_as_stock_nova(self):
        server = self._rescued_with_data()
        self._power_loss('src')
        path = '/servers/%s/action' % server['id']
        for version in ('2.105', '2.104', '2.95'):
            body = {'evacuate': {'host': 'dest'}}
            ours = self._wsgi_request(base.PASTE_INI, 'POST', path, body,
                                      microversion=version)
            stock = self._wsgi_request(base.STOCK_PASTE_INI, 'POST', path,
                                       body, microversion=version)
            self.assertEqual(409, ours.status_int, ours.body)
            self.assertEqual(stock.body, ours.body)
            self.assertIn(b'while it is in vm_state rescued', ours.body)
        self._assert_nothing_changed(server)

    def test_evacuate_rebuilds_the_root_from_the_image(self):
        server = self._rescued_with_data()
        before = self._request_spec(server).flavor.extra_specs
        self._power_loss('src')
        server = self._evacuated(server, host='dest')

        self._assert_rescue_ended_on_dest(server)
        root = os.path.join(self.instance_dir('dest', server), 'disk')
        self._assert_image(root, block_base.base_image_id())
        self.assertNotEqual(bytes([ROOT_WRITE[1]]) * ROOT_WRITE[2],
                            block_base.guest_read(root, *ROOT_WRITE[::2]))
        events = self._evacuate_events(server)
        self.assertEqual('Success',
                         events[evacuation.EVENT_ROOT_REBUILT])
        self.assertNotIn(evacuation.EVENT_ROOT_KEPT, events)
        # the trait was asked of the scheduler only
        self.assertEqual(before, self._request_spec(server).flavor.extra_specs)
        self.assertNotIn('trait:' + capability.TRAIT, before)

        # the failed host comes back: nothing of the server is left there
        self.restart_compute_service('src')
        self.assertFalse(os.path.exists(self.instance_dir('src', server)))
        conn = self.computes['src'].driver._host.get_connection()
        self.assertNotIn(server['id'], [
            dom.UUIDString() for dom in conn.listAllDomains()])

        self._start_and_rescue_again(server)

    def test_scheduler_picks_only_capable_hosts(self):
        self.start_compute('stock', driver=base.STOCK_DRIVER)
        self._start_previous_release()
        server = self._rescued_with_data()
        # The other computes have more free RAM: nova's weighers would
        # choose one of them.
        self._create_server(host='dest', networks='none')
        self._power_loss('src')
        self._evacuated(server)
        self._assert_rescue_ended_on_dest(server)
        for host in ('stock', 'previous'):
            conn = self.computes[host].driver._host.get_connection()
            self.assertEqual([], conn.listAllDomains())

    def test_destination_without_the_capability_refused(self):
        self.start_compute('stock', driver=base.STOCK_DRIVER)
        server = self._rescued_with_data()
        self._power_loss('src')
        resp = self._evacuate(server, host='stock',
                              check_response_status=[400])
        self.assertIn('cannot take rescued servers',
                      resp.body['badRequest']['message'])
        self.assertIn(capability.TRAIT, resp.body['badRequest']['message'])
        self._assert_nothing_changed(server)

    def test_placement_unable_to_answer_gives_409(self):
        server = self._rescued_with_data()
        self._power_loss('src')
        with mock.patch.object(
                report.SchedulerReportClient, 'get_provider_traits',
                side_effect=ks_exc.ConnectFailure('placement is down')):
            resp = self._evacuate(server, host='dest',
                                  check_response_status=[409])
        self.assertIn('Could not read the traits of compute node dest from '
                      'the placement service, so evacuation of this rescued '
                      'server cannot be checked',
                      resp.body['conflictingRequest']['message'])
        self._assert_nothing_changed(server)

    def test_a_rescued_server_put_in_error_goes_to_a_capable_host(self):
        """nova evacuates ERROR servers at any microversion; one whose
        rescue record says it is still rescued goes where the rescue ends.
        """
        self.start_compute('stock', driver=base.STOCK_DRIVER)
        self._start_previous_release()
        server = self._rescued_with_data()
        self._create_server(host='dest', networks='none')
        self._power_loss('src')
        instance = self._instance(server)
        instance.vm_state = 'error'
        instance.save()
        self.assertEqual(200, self._evacuate(server).status)
        self._wait_for_migration_status(server, ['done'])
        # nova starts an evacuated server that was in ERROR
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('dest', self._host_of(server))
        self._assert_rescue_ended_on_dest(server)

    def test_destination_on_the_previous_release_refused(self):
        self._start_previous_release()
        server = self._rescued_with_data()
        self._power_loss('src')
        resp = self._evacuate(server, host='previous',
                              check_response_status=[400])
        self.assertIn('does not end a rescue',
                      resp.body['badRequest']['message'])
        self._assert_nothing_changed(server)

    def test_host_up_refused_with_nova_s_message(self):
        server = self._rescued_with_data()
        for host in ('dest', None):
            resp = self._evacuate(server, host=host,
                                  check_response_status=[400])
            self.assertEqual(
                nova_exception.ComputeServiceInUse(host='src')
                .format_message(), resp.body['badRequest']['message'])
        self._assert_nothing_changed(server)


class TestEvacuateRescuedSharedStorage(_EvacuateRescued):
    """Shared instance storage: the root is the very disk."""

    def instances_root(self, host):
        return os.path.join(self.root, 'shared')

    def test_evacuate_keeps_the_root_being_repaired(self):
        server = self._rescued_with_data()
        shared = self.instance_dir('src', server)
        self.assertTrue(os.path.exists(os.path.join(shared, 'disk.rescue')))
        self._power_loss('src')
        server = self._evacuated(server)

        self._assert_rescue_ended_on_dest(server)
        root = os.path.join(shared, 'disk')
        self._assert_image(root, block_base.base_image_id())
        self._assert_written(root, ROOT_WRITE)
        events = self._evacuate_events(server)
        self.assertEqual('Success', events[evacuation.EVENT_ROOT_KEPT])

        # the failed host comes back: its domain goes, the shared files
        # (now the new host's) stay
        self.restart_compute_service('src')
        conn = self.computes['src'].driver._host.get_connection()
        self.assertNotIn(server['id'], [
            dom.UUIDString() for dom in conn.listAllDomains()])
        self._assert_written(root, ROOT_WRITE)

        server = self._start_server(server)
        self._assert_written(root, ROOT_WRITE)
        self._rescue_with(server, RESCUE_IMAGE)
        self._unrescue_server(server)
