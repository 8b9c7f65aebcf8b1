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

"""drain(): plan, plan printed, migrations, table and summary together."""

import io

import testtools

from nova_rescue_lm import drain
from nova_rescue_lm.drain import compute_api
from nova_rescue_lm.drain import reporting
from nova_rescue_lm.drain import results
from tests.unit.drain import fakes


class DrainTest(testtools.TestCase):

    def _drain(self, client, **kwargs):
        out = io.StringIO()
        kwargs.setdefault('poll_interval', 0)
        code, entries = drain.drain(client, 'src', out=out,
                                    sleep=lambda s: None, **kwargs)
        return code, {e.id: e for e in entries}, out.getvalue()

    def test_moves_what_it_can_and_says_what_is_left(self):
        client = fakes.FakeClient(fakes.host_servers(2), polls=3)
        code, entries, out = self._drain(client, max_parallel=2)
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code)
        for sid in ('a0', 'a1', 'r'):
            self.assertEqual(results.MOVED, entries[sid].result, out)
        self.assertEqual(results.CANNOT_MOVE, entries['s'].result)
        self.assertIn('4 server(s) on src', out)
        self.assertIn('r (r): RESCUE: live-migrate at microversion 2.105 to '
                      'a host the scheduler picks', out)
        self.assertIn('r (r): moved to dest (RESCUE)', out)
        self.assertIn('s (s): cannot move: SHUTOFF: nova live-migrates', out)
        self.assertIn('| Server ID | Name | State', out)
        self.assertTrue(out.endswith(
            '1 cannot move, 3 moved\nServers are left on src.\n'), out)

    def test_all_moved_is_exit_0(self):
        client = fakes.FakeClient(fakes.host_servers(1)[:-1])
        code, entries, out = self._drain(client, target='dest',
                                         block_migration=True)
        self.assertEqual(reporting.EXIT_OK, code, out)
        self.assertTrue(out.endswith('+\n2 moved\n'), out)
        for r in client.requests:
            if r[0] == 'POST':
                self.assertEqual({'host': 'dest', 'block_migration': True},
                                 r[3]['os-migrateLive'])

    def test_dry_run_sends_only_gets(self):
        client = fakes.FakeClient(fakes.host_servers(2))
        code, entries, out = self._drain(client, dry_run=True)
        self.assertEqual({'GET'}, {r[0] for r in client.requests})
        self.assertEqual(results.WOULD_MOVE, entries['r'].result)
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code)
        self.assertIn('Dry run, nothing was sent: 1 cannot move, 3 would '
                      'move', out)
        code, _, _ = self._drain(fakes.FakeClient(fakes.host_servers(2)[:-1]),
                                 dry_run=True)
        self.assertEqual(reporting.EXIT_OK, code)

    def test_the_trait_is_checked_before_anything_is_sent(self):
        servers = fakes.host_servers(1)
        for srv in servers:
            srv['OS-EXT-SRV-ATTR:hypervisor_hostname'] = 'src'
        for capable, result in ((['u-src', 'u-dest'], results.MOVED),
                                (['u-dest'], results.CANNOT_MOVE)):
            client = fakes.FakeClient(servers)
            code, entries, out = self._drain(
                client, placement=fakes.FakePlacement(capable))
            self.assertEqual(result, entries['r'].result, out)
            self.assertEqual(results.MOVED, entries['a0'].result)
            posted = [r[1] for r in client.requests if r[0] == 'POST']
            self.assertEqual(result == results.MOVED,
                             '/servers/r/action' in posted)

    def test_placement_unreadable_leaves_it_to_the_api(self):
        code, entries, out = self._drain(
            fakes.FakeClient(fakes.host_servers()))
        self.assertIn('note: the CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED trait '
                      'could not be read (no placement endpoint was given)',
                      out)
        # Sent anyway; once the API accepted it, the note is gone.
        self.assertEqual((results.MOVED, ''),
                         (entries['r'].result, entries['r'].reason))

    def test_no_server_no_summary(self):
        code, entries, out = self._drain(fakes.FakeClient([]))
        self.assertEqual((reporting.EXIT_OK, {}), (code, entries))
        rule = '+-----------+------+-------+------+----+--------+--------+\n'
        self.assertTrue(out.endswith(
            rule + '| Server ID | Name | State | From | To | Result | Reason '
            '|\n' + rule + rule), out)


class EvacuateDrainTest(testtools.TestCase):

    def _drain(self, client, **kwargs):
        out = io.StringIO()
        kwargs.setdefault('poll_interval', 0)
        code, entries = drain.drain(client, 'src', out=out,
                                    sleep=lambda s: None, evacuate=True,
                                    **kwargs)
        return code, {e.id: e for e in entries}, out.getvalue()

    def test_evacuates_every_server_of_a_down_host(self):
        client = fakes.FakeClient(fakes.host_servers(2), polls=2,
                                  max_version=(2, 106), down=('src',))
        code, entries, out = self._drain(client)
        self.assertEqual(reporting.EXIT_OK, code, out)
        for sid in ('a0', 'a1', 'r', 's'):
            self.assertEqual((results.MOVED, 'SHUTOFF'),
                             (entries[sid].result, entries[sid].state), out)
        self.assertIn('4 server(s) on src', out)
        self.assertIn('r (r): RESCUE: evacuate at microversion 2.106 to a '
                      'host the scheduler picks', out)
        self.assertIn('s (s): SHUTOFF: evacuate at microversion 2.95 to a '
                      'host the scheduler picks', out)
        self.assertIn('r (r): evacuated to dest (SHUTOFF)', out)
        self.assertRegex(out, r'\| r +\| r +\| SHUTOFF \| src +\| dest \| '
                              r'moved +\| +\|')
        self.assertTrue(out.endswith('+\n4 moved\n'), out)

    def test_what_cannot_move_is_said_first_and_left(self):
        servers = fakes.host_servers(1) + [
            fakes.server('PAUSED', 'paused', id='p', name='p')]
        client = fakes.FakeClient(servers, max_version=(2, 105),
                                  down=('src',))
        code, entries, out = self._drain(client)
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code)
        self.assertLess(out.index('p (p): cannot move: PAUSED: nova does '
                                  'not evacuate a paused server'),
                        out.index('a0 (a0): evacuation started'))
        self.assertIn('r (r): cannot move: the compute API does not offer '
                      'microversion 2.106', out)
        self.assertEqual({'/servers/a0/action', '/servers/s/action'},
                         {r[1] for r in client.requests if r[0] == 'POST'})
        self.assertTrue(out.endswith(
            '2 cannot move, 2 moved\nServers are left on src.\n'), out)

    def test_dry_run_sends_only_gets(self):
        client = fakes.FakeClient(fakes.host_servers(1),
                                  max_version=(2, 106), down=('src',))
        code, entries, out = self._drain(client, dry_run=True)
        self.assertEqual({'GET'}, {r[0] for r in client.requests})
        self.assertEqual(reporting.EXIT_OK, code)
        self.assertIn('Dry run, nothing was sent: 3 would move', out)

    def test_a_host_whose_compute_is_up_is_bad_input(self):
        client = fakes.FakeClient(fakes.host_servers(1),
                                  max_version=(2, 106))
        error = self.assertRaises(compute_api.DrainError, self._drain,
                                  client)
        self.assertIn('The compute service on src is up', str(error))
        self.assertEqual({'GET'}, {r[0] for r in client.requests})
