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

"""The drain's planning: decisions per server, the checks before sending."""

import testtools

from nova_rescue_lm.drain import compute_api
from nova_rescue_lm.drain import planning
from nova_rescue_lm.drain import results
from tests.unit.drain import fakes

MAX = fakes.MAX
server = fakes.server


class DecideTest(testtools.TestCase):

    def test_active_and_paused_use_2_68(self):
        for status, vm_state in (('ACTIVE', 'active'), ('PAUSED', 'paused')):
            self.assertEqual(('2.68', ''),
                             planning.decide(server(status, vm_state), MAX))
            self.assertEqual(('2.68', ''), planning.decide(
                server(status, vm_state), (2, 68)))
            # An older API: the same body at 2.25.
            self.assertEqual(('2.25', ''), planning.decide(
                server(status, vm_state), (2, 60)))
            version, reason = planning.decide(server(status, vm_state),
                                              (2, 20))
            self.assertIsNone(version)
            self.assertIn('2.20', reason)

    def test_rescued_uses_2_105_only(self):
        self.assertEqual(('2.105', ''),
                         planning.decide(server('RESCUE', 'rescued'), MAX))
        self.assertEqual(('2.105', ''), planning.decide(
            server('RESCUE', 'rescued'), (2, 110)))
        version, reason = planning.decide(server('RESCUE', 'rescued'),
                                          (2, 104))
        self.assertIsNone(version)
        self.assertIn('nova-rescue-lm is not enabled', reason)
        self.assertIn('2.104', reason)

    def test_states_nova_refuses(self):
        cases = [('SHUTOFF', 'stopped', None, 'SHUTOFF'),
                 ('ERROR', 'error', None, 'ERROR'),
                 ('SHELVED', 'shelved', None, 'SHELVED'),
                 ('SUSPENDED', 'suspended', None, 'SUSPENDED'),
                 ('VERIFY_RESIZE', 'resized', None, 'resize'),
                 ('RESIZE', 'active', 'resize_migrating',
                  'task resize_migrating in progress'),
                 ('MIGRATING', 'active', 'migrating', 'already migrating'),
                 ('MIGRATING', 'rescued', 'migrating', 'already migrating'),
                 ('RESCUE', 'rescued', 'unrescuing',
                  'task unrescuing in progress'),
                 ('SOFT_DELETED', 'soft-delete', None, 'soft-deleted'),
                 ('WEIRD', 'weird', None, 'WEIRD')]
        for status, vm_state, task_state, needle in cases:
            version, reason = planning.decide(
                server(status, vm_state, task_state), MAX)
            self.assertIsNone(version, status)
            self.assertIn(needle, reason)


class PlanTest(testtools.TestCase):

    def _plan(self, client, *args, **kwargs):
        said = []
        entries = planning.plan(client, 'src', *args,
                                say=lambda text, entry=None: said.append(
                                    text), **kwargs)
        return {e.id: e for e in entries}, said

    def test_every_server_would_move_or_cannot(self):
        client = fakes.FakeClient(fakes.host_servers(1))
        entries, said = self._plan(client)
        self.assertEqual({'GET'}, {r[0] for r in client.requests})
        self.assertEqual(
            {'a0': (results.WOULD_MOVE, '2.68'),
             'r': (results.WOULD_MOVE, '2.105'),
             's': (results.CANNOT_MOVE, None)},
            {sid: (e.result, e.microversion) for sid, e in entries.items()})
        self.assertIn('SHUTOFF: nova live-migrates only running servers',
                      entries['s'].reason)
        # 'src' is disabled in the fake; no note about the scheduler.
        self.assertNotIn('is enabled', ' '.join(said))

    def test_the_trait_is_checked(self):
        servers = fakes.host_servers(1)
        for srv in servers:
            srv['OS-EXT-SRV-ATTR:hypervisor_hostname'] = 'src'
        cases = (
            (['u-src', 'u-dest'], {}, results.WOULD_MOVE, ''),
            (['u-dest'], {}, results.CANNOT_MOVE,
             'its compute node src lacks the'),
            (['u-src'], {'target': 'dest'}, results.CANNOT_MOVE,
             'the target host dest has compute node(s) without'),
            (['u-src'], {}, results.CANNOT_MOVE,
             'no other enabled, up compute host'),
        )
        for capable, kwargs, result, reason in cases:
            entries, said = self._plan(
                fakes.FakeClient(servers),
                placement=fakes.FakePlacement(capable), **kwargs)
            self.assertEqual(result, entries['r'].result, reason)
            self.assertIn(reason, entries['r'].reason)
            self.assertEqual(results.WOULD_MOVE, entries['a0'].result)

    def test_placement_unreadable_leaves_it_to_the_api(self):
        entries, said = self._plan(fakes.FakeClient(fakes.host_servers()))
        self.assertEqual(
            ['note: the CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED trait could not '
             'be read (no placement endpoint was given); the API checks it '
             "when a rescued server's migration is requested"], said)
        self.assertEqual(results.WOULD_MOVE, entries['r'].result)
        self.assertEqual('capability not checked: no placement endpoint '
                         'was given', entries['r'].reason)

    def test_shares_and_flavors_are_blockers(self):
        servers = fakes.host_servers(2)
        servers[0]['flavor'] = {'extra_specs': {
            'accel:device_profile': 'gpu'}}
        client = fakes.FakeClient(servers)
        client.shares = {'a1': [{'share_id': 'x'}]}
        entries, said = self._plan(client)
        self.assertEqual(results.CANNOT_MOVE, entries['a0'].result)
        self.assertIn('accelerators', entries['a0'].reason)
        self.assertEqual(results.CANNOT_MOVE, entries['a1'].result)
        self.assertIn('1 share(s) attached', entries['a1'].reason)
        self.assertEqual(results.WOULD_MOVE, entries['r'].result)

    def test_bad_input(self):
        client = fakes.FakeClient(fakes.host_servers())
        error = self.assertRaises(compute_api.DrainError, planning.plan,
                                  client, 'nowhere')
        self.assertIn("No compute service on host 'nowhere'", str(error))
        error = self.assertRaises(compute_api.DrainError, planning.plan,
                                  client, 'src', 'src')
        self.assertIn('--target', str(error))
        error = self.assertRaises(compute_api.DrainError, planning.plan,
                                  client, 'src', 'nowhere')
        self.assertIn('nowhere', str(error))

    def test_forbidden(self):
        client = fakes.FakeClient(fakes.host_servers())
        client.request = lambda *a, **k: fakes.Response(403, {'forbidden': {
            'message': 'Policy does not allow it'}})
        error = self.assertRaises(compute_api.DrainError, planning.plan,
                                  client, 'src')
        self.assertIn('403: Policy does not allow it', str(error))
        self.assertIn('admin credentials', str(error))

    def test_listing_follows_pages(self):
        pages = {
            '/servers/detail?all_tenants=1&host=src': fakes.Response(200, {
                'servers': [server('ACTIVE', 'active', id='a')],
                'servers_links': [{'rel': 'next', 'href': 'x'}]}),
            '/servers/detail?all_tenants=1&host=src&marker=a':
                fakes.Response(200, {'servers': [
                    server('ACTIVE', 'active', id='b'),
                    server('ACTIVE', 'active', id='c', host='elsewhere')]}),
        }
        client = fakes.FakeClient([])
        client.request = lambda method, url, *a: pages[url]
        self.assertEqual(['a', 'b'], [
            s['id'] for s in planning.servers_on(client, 'src', '2.68')])

    def test_host_attribute_hidden_is_refused(self):
        srv = server('ACTIVE', 'active')
        del srv['OS-EXT-SRV-ATTR:host']
        error = self.assertRaises(compute_api.DrainError, planning.plan,
                                  fakes.FakeClient([srv]), 'src')
        self.assertIn('admin credentials', str(error))


class DecideEvacuationTest(testtools.TestCase):

    def test_active_stopped_error_use_2_95(self):
        for status, vm_state in (('ACTIVE', 'active'),
                                 ('SHUTOFF', 'stopped'),
                                 ('ERROR', 'error')):
            for max_version in ((2, 106), (2, 104), (2, 95)):
                self.assertEqual(('2.95', ''), planning.decide_evacuation(
                    server(status, vm_state), max_version))
            version, reason = planning.decide_evacuation(
                server(status, vm_state), (2, 94))
            self.assertIsNone(version)
            self.assertIn('offers microversion 2.94 only, below 2.95 (from '
                          'which nova leaves evacuated servers stopped)',
                          reason)

    def test_rescued_uses_2_106_only(self):
        for max_version in ((2, 106), (2, 110)):
            self.assertEqual(('2.106', ''), planning.decide_evacuation(
                server('RESCUE', 'rescued'), max_version))
        for max_version in ((2, 105), (2, 104)):
            version, reason = planning.decide_evacuation(
                server('RESCUE', 'rescued'), max_version)
            self.assertIsNone(version)
            self.assertIn('does not offer microversion 2.106', reason)
            self.assertIn('its maximum microversion is %s' %
                          compute_api.version_str(max_version), reason)

    def test_states_nova_refuses(self):
        cases = [('PAUSED', 'paused', None, 'PAUSED: nova does not evacuate '
                                            'a paused server'),
                 ('SUSPENDED', 'suspended', None, 'SUSPENDED'),
                 ('SHELVED', 'shelved', None, 'shelved server'),
                 ('VERIFY_RESIZE', 'resized', None, 'resize'),
                 ('SOFT_DELETED', 'soft-delete', None, 'soft-deleted'),
                 ('BUILD', 'building', None, 'still building'),
                 ('WEIRD', 'weird', None, 'WEIRD: nova cannot evacuate'),
                 ('REBUILD', 'active', 'rebuilding',
                  'task rebuilding in progress'),
                 ('ERROR', 'error', 'rebuilding',
                  'task rebuilding in progress'),
                 ('RESCUE', 'rescued', 'unrescuing',
                  'task unrescuing in progress'),
                 ('MIGRATING', 'active', 'migrating', 'already migrating')]
        for status, vm_state, task_state, needle in cases:
            version, reason = planning.decide_evacuation(
                server(status, vm_state, task_state), (2, 106))
            self.assertIsNone(version, status)
            self.assertIn(needle, reason)


class PlanEvacuationTest(testtools.TestCase):

    def _plan(self, client, *args, **kwargs):
        said = []
        entries = planning.plan(client, 'src', *args,
                                say=lambda text, entry=None: said.append(
                                    text), evacuate=True, **kwargs)
        return {e.id: e for e in entries}, said

    def _client(self, servers=None, **kwargs):
        kwargs.setdefault('max_version', (2, 106))
        return fakes.FakeClient(
            fakes.host_servers(1) if servers is None else servers,
            down=('src',), **kwargs)

    def test_every_evacuable_server_would_move(self):
        servers = fakes.host_servers(1) + [
            server('ERROR', 'error', id='e', name='e'),
            server('PAUSED', 'paused', id='p', name='p')]
        client = self._client(servers)
        entries, said = self._plan(client)
        self.assertEqual({'GET'}, {r[0] for r in client.requests})
        self.assertEqual(
            {'a0': (results.WOULD_MOVE, '2.95'),
             'e': (results.WOULD_MOVE, '2.95'),
             'r': (results.WOULD_MOVE, '2.106'),
             's': (results.WOULD_MOVE, '2.95'),
             'p': (results.CANNOT_MOVE, None)},
            {sid: (e.result, e.microversion) for sid, e in entries.items()})
        self.assertTrue(all(e.evacuate for e in entries.values()))
        self.assertIn('nova does not evacuate a paused server',
                      entries['p'].reason)
        self.assertEqual(["note: the CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED "
                          "trait could not be read (no placement endpoint "
                          "was given); the API checks it when a rescued "
                          "server's evacuation is requested"], said)

    def test_a_host_whose_compute_is_up_is_refused(self):
        client = fakes.FakeClient(fakes.host_servers(1), max_version=(2, 106))
        error = self.assertRaises(compute_api.DrainError, planning.plan,
                                  client, 'src', evacuate=True)
        self.assertIn('The compute service on src is up: nova evacuates '
                      'servers only from a host whose nova-compute is down. '
                      'Live-migrate them instead (nova-rescue-lm-drain src)',
                      str(error))
        self.assertIn('compute service set --down src nova-compute',
                      str(error))
        self.assertEqual([], [r for r in client.requests
                              if not r[1].startswith('/os-services')])

    def test_api_without_2_106(self):
        entries, said = self._plan(self._client(max_version=(2, 105)))
        self.assertEqual(results.CANNOT_MOVE, entries['r'].result)
        self.assertIn('does not offer microversion 2.106',
                      entries['r'].reason)
        self.assertEqual(results.WOULD_MOVE, entries['a0'].result)

    def test_the_trait_is_needed_on_the_destination_only(self):
        servers = fakes.host_servers(1)
        for srv in servers:
            srv['OS-EXT-SRV-ATTR:hypervisor_hostname'] = 'src'
        cases = (
            (['u-dest'], {}, results.WOULD_MOVE, ''),
            (['u-src', 'u-dest'], {'target': 'dest'}, results.WOULD_MOVE,
             ''),
            (['u-src'], {'target': 'dest'}, results.CANNOT_MOVE,
             'the target host dest has compute node(s) without'),
            (['u-src'], {}, results.CANNOT_MOVE,
             'no other enabled, up compute host'),
        )
        for capable, kwargs, result, reason in cases:
            entries, said = self._plan(
                self._client(servers),
                placement=fakes.FakePlacement(capable), **kwargs)
            self.assertEqual(result, entries['r'].result, reason)
            self.assertIn(reason, entries['r'].reason)
            self.assertEqual(results.WOULD_MOVE, entries['a0'].result)

    def test_vtpm_and_shares_are_blockers(self):
        servers = fakes.host_servers(2)
        servers[0]['flavor'] = {'extra_specs': {'hw:tpm_version': '2.0',
                                                'hw:tpm_secret_security':
                                                    'host'}}
        # accelerators are rebuilt on the new host: no blocker
        servers[1]['flavor'] = {'extra_specs': {
            'accel:device_profile': 'gpu'}}
        client = self._client(servers)
        client.shares = {'s': [{'share_id': 'x'}]}
        entries, said = self._plan(client)
        self.assertEqual(results.CANNOT_MOVE, entries['a0'].result)
        self.assertIn('nova does not evacuate vTPM servers',
                      entries['a0'].reason)
        self.assertEqual(results.WOULD_MOVE, entries['a1'].result)
        self.assertEqual(results.CANNOT_MOVE, entries['s'].result)
        self.assertIn('nova does not evacuate servers with shares',
                      entries['s'].reason)

    def test_target(self):
        entries, said = self._plan(self._client(), 'dest')
        self.assertEqual({'dest'}, {e.target for e in entries.values()})
        error = self.assertRaises(compute_api.DrainError, planning.plan,
                                  self._client(), 'src', 'src',
                                  evacuate=True)
        self.assertIn('--target', str(error))

    def test_live_drain_of_a_down_host_names_evacuate(self):
        entries = planning.plan(self._client(fakes.host_servers(2)[:-1]),
                                'src')
        self.assertEqual(3, len(entries))
        for entry in entries:
            self.assertEqual(results.CANNOT_MOVE, entry.result)
            self.assertEqual('the compute service on src is down; live '
                             'migration needs it running (evacuate the '
                             'servers instead: nova-rescue-lm-drain '
                             '--evacuate src)', entry.reason)
            self.assertFalse(entry.evacuate)
