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

"""The drain's running: starting, following and explaining migrations."""

import threading

from keystoneauth1 import exceptions as ks_exc
import testtools

from nova_rescue_lm.drain import results
from nova_rescue_lm.drain import running
from tests.unit.drain import fakes

#: What planning decides for the fakes' servers.
MICROVERSIONS = {'active': '2.68', 'rescued': '2.105'}


def planned(client, target=None):
    """The entries planning would make of the fake API's servers."""
    entries = []
    for srv in client.servers.values():
        version = MICROVERSIONS.get(srv['OS-EXT-STS:vm_state'])
        entries.append(results.Entry(
            id=srv['id'], name=srv['name'], state=srv['status'],
            source='src', microversion=version, target=target,
            result=(results.WOULD_MOVE if version
                    else results.CANNOT_MOVE)))
    return entries


class ExecuteTest(testtools.TestCase):

    def _run(self, client, entries=None, **kwargs):
        said = []

        def say(text, entry=None):
            said.append('%s: %s' % (entry.id, text) if entry else text)
        entries = planned(client) if entries is None else entries
        kwargs.setdefault('poll_interval', 0)
        kwargs.setdefault('sleep', lambda s: None)
        running.execute(client, entries, say=say, **kwargs)
        return {e.id: e for e in entries}, said

    def test_moves_at_most_n_at_a_time(self):
        client = fakes.FakeClient(fakes.host_servers(5), polls=3)
        entries, said = self._run(client, max_parallel=2)
        self.assertEqual(2, client.peak)
        for sid in ('a0', 'a1', 'a2', 'a3', 'a4', 'r'):
            self.assertEqual(results.MOVED, entries[sid].result, said)
            self.assertEqual('dest', entries[sid].dest)
        self.assertEqual(results.CANNOT_MOVE, entries['s'].result)
        posts = {r[1]: (r[2], r[3]) for r in client.requests
                 if r[0] == 'POST'}
        self.assertEqual(('2.105', {'os-migrateLive': {
            'host': None, 'block_migration': 'auto'}}),
            posts['/servers/r/action'])
        self.assertEqual('2.68', posts['/servers/a0/action'][0])
        self.assertNotIn('/servers/s/action', posts)
        self.assertIn('r: migration started (microversion 2.105)', said)
        self.assertIn('r: moved to dest (RESCUE)', said)

    def test_target_and_block_migration_are_sent(self):
        client = fakes.FakeClient(fakes.host_servers(1)[:-1])
        entries, said = self._run(client, planned(client, 'dest'),
                                  block_migration=True)
        posts = [r[3] for r in client.requests if r[0] == 'POST']
        self.assertEqual(2, len(posts))
        for body in posts:
            self.assertEqual({'host': 'dest', 'block_migration': True},
                             body['os-migrateLive'])

    def test_failed_migration_reports_the_event(self):
        client = fakes.FakeClient(fakes.host_servers(1), fail=('r',))
        entries, said = self._run(client)
        self.assertEqual(results.FAILED, entries['r'].result)
        self.assertEqual('compute_live_migration: disk copy failed',
                         entries['r'].reason)
        self.assertEqual(results.MOVED, entries['a0'].result)

    def test_api_unreachable_while_migrating_keeps_following(self):
        client = fakes.FakeClient(fakes.host_servers(1), polls=2)
        real_request = client.request
        failures = {'left': 3}

        def request(method, url, microversion=None, body=None):
            if method == 'GET' and url == '/servers/r' and failures['left']:
                failures['left'] -= 1
                raise ks_exc.ConnectFailure('API down')
            return real_request(method, url, microversion, body)
        client.request = request
        entries, said = self._run(client)
        self.assertEqual(0, failures['left'])
        self.assertEqual(results.MOVED, entries['r'].result, said)

    def test_api_unreachable_for_the_post_is_unknown(self):
        client = fakes.FakeClient(fakes.host_servers(1))
        real_request = client.request

        def request(method, url, microversion=None, body=None):
            if method == 'POST':
                raise ks_exc.ConnectTimeout('timed out')
            return real_request(method, url, microversion, body)
        client.request = request
        entries, said = self._run(client)
        self.assertEqual(results.UNKNOWN, entries['r'].result)
        self.assertIn('check the server', entries['r'].reason)

    def test_400_is_cannot_move_with_the_message(self):
        client = fakes.FakeClient(
            fakes.host_servers(), post_status=400, post_body={
                'badRequest': {'code': 400, 'message': 'node src lacks it'}})
        entries, said = self._run(client)
        self.assertEqual(results.CANNOT_MOVE, entries['r'].result)
        self.assertEqual('node src lacks it', entries['r'].reason)
        self.assertIn('r: cannot move: node src lacks it', said)

    def test_other_post_errors(self):
        for status, result in ((409, results.CANNOT_MOVE),
                               (404, results.GONE),
                               (500, results.FAILED), (403, results.FAILED)):
            client = fakes.FakeClient(fakes.host_servers(),
                                      post_status=status,
                                      post_body={'x': {'message': 'm'}})
            entries, said = self._run(client)
            self.assertEqual(result, entries['r'].result, status)

    def test_timeout_leaves_it_running_and_reports_it(self):
        clock = iter(range(0, 1000, 10))
        client = fakes.FakeClient(fakes.host_servers(), polls=10 ** 6)
        entries, said = self._run(client, timeout=25,
                                  clock=lambda: next(clock))
        self.assertEqual(results.TIMED_OUT, entries['r'].result)
        self.assertIn('after 25s', entries['r'].reason)

    def test_stop_starts_nothing_new_but_follows_in_flight(self):
        client = fakes.FakeClient(fakes.host_servers(3), polls=2)
        stop = threading.Event()
        real_request = client.request

        def request(method, url, microversion=None, body=None):
            response = real_request(method, url, microversion, body)
            if method == 'POST':
                stop.set()  # Ctrl-C right after the first migration
            return response
        client.request = request
        entries, said = self._run(client, stop=stop, max_parallel=1)
        self.assertEqual(results.MOVED, entries['a0'].result)
        for sid in ('a1', 'a2', 'r'):
            self.assertEqual(results.NOT_STARTED, entries[sid].result)
        self.assertEqual(1, len([r for r in client.requests
                                 if r[0] == 'POST']))

    def test_second_interrupt_reports_in_flight_as_unknown(self):
        client = fakes.FakeClient(fakes.host_servers(3), polls=10 ** 6)
        calls = []

        def sleep(seconds):
            calls.append(seconds)
            raise KeyboardInterrupt()
        entries, said = self._run(client, max_parallel=2, sleep=sleep)
        self.assertEqual({'a0': results.UNKNOWN, 'a1': results.UNKNOWN,
                          'a2': results.NOT_STARTED,
                          'r': results.NOT_STARTED,
                          's': results.CANNOT_MOVE},
                         {sid: e.result for sid, e in entries.items()})


class FailureReasonTest(testtools.TestCase):

    def _entry(self, **kw):
        return results.Entry(id='r', name='r', state='RESCUE', source='src',
                             **kw)

    def test_the_action_of_our_request_is_read_at_2_84(self):
        client = fakes.FakeClient([])
        reason = running.failure_reason(
            client, self._entry(request_id='req-r'), {'status': 'RESCUE'})
        self.assertEqual('compute_live_migration: disk copy failed', reason)
        self.assertEqual({'2.84'}, {r[2] for r in client.requests})

    def test_without_action_the_fault_then_the_migration(self):
        client = fakes.FakeClient([])
        client.request = lambda method, url, *a: (
            fakes.Response(404) if 'instance-actions' in url
            else fakes.FakeClient.request(client, method, url, *a))
        self.assertEqual('boom', running.failure_reason(
            client, self._entry(), {'fault': {'message': 'boom'}}))
        self.assertEqual(
            "live migration 7 error; see nova-compute's log on src and "
            "dest", running.failure_reason(client, self._entry(), {}))

    def test_api_unreachable(self):
        client = fakes.FakeClient([])

        def request(*args):
            raise ks_exc.ConnectFailure('API down')
        client.request = request
        self.assertEqual(
            'still on src (the API could not be asked why: API down)',
            running.failure_reason(client, self._entry(), {}))


def evacuations(client, target=None):
    """The entries planning would make for an evacuation of 'src'."""
    entries = []
    for srv in client.servers.values():
        version = {'active': '2.95', 'stopped': '2.95', 'error': '2.95',
                   'rescued': '2.106'}.get(srv['OS-EXT-STS:vm_state'])
        entries.append(results.Entry(
            id=srv['id'], name=srv['name'], state=srv['status'],
            source='src', microversion=version, target=target,
            result=(results.WOULD_MOVE if version
                    else results.CANNOT_MOVE), evacuate=True))
    return entries


class EvacuationTest(testtools.TestCase):

    def _run(self, client, entries=None, **kwargs):
        said = []

        def say(text, entry=None):
            said.append('%s: %s' % (entry.id, text) if entry else text)
        entries = evacuations(client) if entries is None else entries
        kwargs.setdefault('poll_interval', 0)
        kwargs.setdefault('sleep', lambda s: None)
        running.execute(client, entries, say=say, **kwargs)
        return {e.id: e for e in entries}, said

    def _posts(self, client):
        return {r[1].split('/')[2]: (r[2], r[3]) for r in client.requests
                if r[0] == 'POST'}

    def test_evacuates_at_the_planned_versions_and_waits_for_shutoff(self):
        client = fakes.FakeClient(fakes.host_servers(3), polls=3)
        entries, said = self._run(client, max_parallel=2,
                                  block_migration=True)
        self.assertEqual(2, client.peak)
        for sid in ('a0', 'a1', 'a2', 'r', 's'):
            self.assertEqual((results.MOVED, 'dest', 'SHUTOFF'),
                             (entries[sid].result, entries[sid].dest,
                              entries[sid].state), said)
        posts = self._posts(client)
        # no block_migration, no force, no onSharedStorage, no host
        self.assertEqual(('2.106', {'evacuate': {}}), posts['r'])
        for sid in ('a0', 'a1', 'a2', 's'):
            self.assertEqual(('2.95', {'evacuate': {}}), posts[sid])
        self.assertIn('r: evacuation started (microversion 2.106)', said)
        self.assertIn('r: evacuated to dest (SHUTOFF)', said)
        self.assertIn('s: evacuated to dest (SHUTOFF)', said)
        # followed until the task ended: three reads of each server
        self.assertEqual(3, client.gets['r'])

    def test_target_is_sent(self):
        client = fakes.FakeClient(fakes.host_servers())
        entries, said = self._run(client, evacuations(client, 'dest'))
        for version, body in self._posts(client).values():
            self.assertEqual({'evacuate': {'host': 'dest'}}, body)
        self.assertEqual(results.MOVED, entries['r'].result)

    def test_a_server_evacuated_from_error_is_followed_to_its_end(self):
        """Its status stays ERROR while its task runs: not a failure; nova
        leaves it ACTIVE (it stops only servers that were not in ERROR).
        """
        client = fakes.FakeClient(
            [fakes.server('ERROR', 'error', id='e', name='e')], polls=3)
        entries, said = self._run(client)
        self.assertEqual((results.MOVED, 'dest', 'ACTIVE'),
                         (entries['e'].result, entries['e'].dest,
                          entries['e'].state), said)
        self.assertEqual(3, client.gets['e'])

    def test_error_is_a_failure_with_the_events_message(self):
        client = fakes.FakeClient(fakes.host_servers(1), fail=('r',),
                                  polls=2)
        entries, said = self._run(client)
        self.assertEqual((results.FAILED, 'ERROR'),
                         (entries['r'].result, entries['r'].state))
        self.assertEqual('rebuild_server: No valid host was found.',
                         entries['r'].reason)
        self.assertIn('r: failed: rebuild_server: No valid host '
                      'was found.', said)
        self.assertEqual(results.MOVED, entries['a0'].result)

    def test_a_failed_record_ends_the_wait_while_the_task_stays(self):
        client = fakes.FakeClient(fakes.host_servers(1),
                                  record_error=('r',))
        real_request = client.request
        client.request = lambda method, url, *a: (
            fakes.Response(404) if 'instance-actions' in url
            else real_request(method, url, *a))
        entries, said = self._run(client)
        self.assertEqual(results.FAILED, entries['r'].result)
        self.assertEqual("evacuation 9 error; see nova-conductor's log, and "
                         "nova-compute's on the host it was sent to",
                         entries['r'].reason)
        self.assertEqual(1, client.gets['r'])
        self.assertEqual(results.MOVED, entries['a0'].result)

    def test_rebuilt_but_not_yet_taken_over_is_still_under_way(self):
        """No task, SHUTOFF, still on its host: nova moves the host last."""
        client = fakes.FakeClient(fakes.host_servers(), polls=4)
        entries, said = self._run(client)
        self.assertEqual((results.MOVED, 'dest', 'SHUTOFF'),
                         (entries['r'].result, entries['r'].dest,
                          entries['r'].state), said)
        self.assertEqual(4, client.gets['r'])
        self.assertNotIn('r: failed', ' '.join(said))

    def test_back_on_its_host_with_a_failed_record_is_a_failure(self):
        client = fakes.FakeClient(fakes.host_servers())
        client.fail = ('s',)
        real_request = client.request

        def request(method, url, microversion=None, body=None):
            response = real_request(method, url, microversion, body)
            if url == '/servers/s' and response.json()['server'][
                    'status'] == 'ERROR':
                response.json()['server']['status'] = 'SHUTOFF'
            return response
        client.request = request
        entries, said = self._run(client)
        self.assertEqual(results.FAILED, entries['s'].result)
        self.assertEqual('rebuild_server: No valid host was found.',
                         entries['s'].reason)

    def test_timeout_leaves_it_running_and_reports_it(self):
        clock = iter(range(0, 1000, 10))
        client = fakes.FakeClient(fakes.host_servers(), polls=10 ** 6)
        entries, said = self._run(client, timeout=25,
                                  clock=lambda: next(clock))
        self.assertEqual(results.TIMED_OUT, entries['r'].result)
        self.assertEqual('still evacuating after 25s; not waited for any '
                         'longer', entries['r'].reason)

    def test_refusals(self):
        for status, result in ((409, results.CANNOT_MOVE),
                               (400, results.CANNOT_MOVE),
                               (404, results.GONE),
                               (500, results.FAILED)):
            client = fakes.FakeClient(fakes.host_servers(),
                                      post_status=status,
                                      post_body={'x': {'message': 'm'}})
            entries, said = self._run(client)
            self.assertEqual(result, entries['r'].result, status)

    def test_deleted_while_evacuating(self):
        client = fakes.FakeClient(fakes.host_servers()[:1], polls=10 ** 6)
        real_request = client.request
        client.request = lambda method, url, *a: (
            fakes.Response(404) if method == 'GET' and url == '/servers/r'
            else real_request(method, url, *a))
        entries, said = self._run(client)
        self.assertEqual((results.GONE, 'deleted while evacuating'),
                         (entries['r'].result, entries['r'].reason))

    def test_interrupt_reports_in_flight_as_still_evacuating(self):
        client = fakes.FakeClient(fakes.host_servers(1), polls=10 ** 6)

        def sleep(seconds):
            raise KeyboardInterrupt()
        entries, said = self._run(client, max_parallel=1, sleep=sleep)
        self.assertEqual((results.UNKNOWN, 'still evacuating; not waited '
                          'for (interrupted)'),
                         (entries['a0'].result, entries['a0'].reason))
        self.assertEqual(results.NOT_STARTED, entries['r'].result)

    def test_post_unreachable_is_unknown(self):
        client = fakes.FakeClient(fakes.host_servers())

        def request(method, url, microversion=None, body=None):
            raise ks_exc.ConnectTimeout('timed out')
        client.request = request
        entries, said = self._run(client, [e for e in evacuations(
            fakes.FakeClient(fakes.host_servers())) if e.id == 'r'])
        self.assertEqual(results.UNKNOWN, entries['r'].result)
        self.assertEqual('the evacuation request may not have reached the '
                         'API (timed out); check the server',
                         entries['r'].reason)
