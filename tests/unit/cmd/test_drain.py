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

"""nova-rescue-lm-drain: decisions, scheduling, table, exit codes, CLI."""

import io
import threading

import fixtures
from oslo_serialization import jsonutils
import testtools

from nova_rescue_lm.cmd import drain

MAX = (2, 105)


def server(status, vm_state, task_state=None, name='s', id='id-1',
           host='src', **extra):
    return dict({'id': id, 'name': name, 'status': status,
                 'OS-EXT-STS:vm_state': vm_state,
                 'OS-EXT-STS:task_state': task_state,
                 'OS-EXT-SRV-ATTR:host': host}, **extra)


class Response:

    def __init__(self, status, body=None, headers=None):
        self.status_code = status
        self._body = body
        self.headers = headers or {}
        self.text = '' if body is None else jsonutils.dumps(body)

    def json(self):
        if self._body is None:
            raise ValueError('no body')
        return self._body


class FakeClient:
    """A compute API: servers move to 'dest' after ``polls`` GETs."""

    def __init__(self, servers, max_version=MAX, polls=1, post_status=202,
                 post_body=None, fail=()):
        self.servers = {s['id']: dict(s) for s in servers}
        self._max = max_version
        self.polls = polls
        self.post_status = post_status
        self.post_body = post_body
        self.fail = fail
        self.requests = []
        self.in_flight = set()
        self.peak = 0
        self.shares = {}
        self.gets = {}

    def max_microversion(self):
        return self._max

    def get(self, url, microversion=None):
        return self.request('GET', url, microversion)

    def request(self, method, url, microversion=None, body=None):
        self.requests.append((method, url, microversion, body))
        parts = url.split('?')[0].split('/')
        if method == 'POST':
            if self.post_status != 202:
                return Response(self.post_status, self.post_body)
            sid = parts[2]
            self.servers[sid].update(
                {'status': 'MIGRATING', 'OS-EXT-STS:task_state': 'migrating'})
            self.in_flight.add(sid)
            self.peak = max(self.peak, len(self.in_flight))
            return Response(202, None,
                            {'x-openstack-request-id': 'req-' + sid})
        if url.startswith('/os-services'):
            host = url.split('host=')[1]
            if host in ('src', 'dest'):
                return Response(200, {'services': [
                    {'host': host, 'state': 'up', 'status': (
                        'disabled' if host == 'src' else 'enabled')}]})
            return Response(200, {'services': []})
        if url.startswith('/servers/detail'):
            return Response(200, {'servers': list(self.servers.values())})
        if url.startswith('/os-hypervisors/detail'):
            return Response(200, {'hypervisors': [
                {'id': 'u-' + host, 'hypervisor_hostname': host,
                 'status': 'enabled', 'state': 'up',
                 'service': {'host': host}} for host in ('src', 'dest')]})
        if url.endswith('/shares'):
            return Response(200, {'shares': self.shares.get(parts[2], [])})
        if url.startswith('/os-migrations'):
            return Response(200, {'migrations': [
                {'id': 7, 'status': 'error', 'source_compute': 'src',
                 'dest_compute': 'dest'}]})
        sid = parts[2]
        if len(parts) == 4:  # instance actions list
            return Response(200, {'instanceActions': [
                {'action': 'live-migration', 'request_id': 'req-' + sid,
                 'message': None}]})
        if len(parts) == 5:
            return Response(200, {'instanceAction': {'events': [
                {'event': 'compute_live_migration', 'result': 'Error',
                 'details': 'disk copy failed'}]}})
        srv = self.servers[sid]
        self.gets[sid] = self.gets.get(sid, 0) + 1
        if sid in self.in_flight and self.gets[sid] >= self.polls:
            self.in_flight.discard(sid)
            srv.update({'OS-EXT-STS:task_state': None,
                        'status': srv['_done']})
            if sid not in self.fail:
                srv['OS-EXT-SRV-ATTR:host'] = 'dest'
        return Response(200, {'server': srv})


class FakePlacement:
    """Placement: the resource providers carrying the trait."""

    def __init__(self, capable):
        self.capable = capable

    def get(self, url, microversion=None, raise_exc=True):
        assert url.endswith('required=CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED')
        return Response(200, {'resource_providers': [
            {'uuid': uuid} for uuid in self.capable]})


class DecideTest(testtools.TestCase):

    def test_active_and_paused_use_2_68(self):
        for status, vm_state in (('ACTIVE', 'active'), ('PAUSED', 'paused')):
            self.assertEqual(('2.68', ''),
                             drain.decide(server(status, vm_state), MAX))
            self.assertEqual(('2.68', ''), drain.decide(
                server(status, vm_state), (2, 68)))
            # An older API: the same body at 2.25.
            self.assertEqual(('2.25', ''), drain.decide(
                server(status, vm_state), (2, 60)))
            version, reason = drain.decide(server(status, vm_state), (2, 20))
            self.assertIsNone(version)
            self.assertIn('2.20', reason)

    def test_rescued_uses_2_105_only(self):
        self.assertEqual(('2.105', ''),
                         drain.decide(server('RESCUE', 'rescued'), MAX))
        self.assertEqual(('2.105', ''),
                         drain.decide(server('RESCUE', 'rescued'), (2, 110)))
        version, reason = drain.decide(server('RESCUE', 'rescued'), (2, 104))
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
            version, reason = drain.decide(
                server(status, vm_state, task_state), MAX)
            self.assertIsNone(version, status)
            self.assertIn(needle, reason)


class TableAndExitCodeTest(testtools.TestCase):

    def _entry(self, result, **kw):
        return drain.Entry(id='id-' + result, name='n', state='ACTIVE',
                           source='src', result=result, **kw)

    def test_exit_code(self):
        self.assertEqual(drain.EXIT_OK, drain.exit_code([]))
        self.assertEqual(drain.EXIT_OK, drain.exit_code(
            [self._entry(drain.MOVED), self._entry(drain.GONE)]))
        self.assertEqual(drain.EXIT_OK, drain.exit_code(
            [self._entry(drain.WOULD_MOVE)]))
        for left in (drain.FAILED, drain.CANNOT_MOVE, drain.TIMED_OUT,
                     drain.NOT_STARTED, drain.UNKNOWN, drain.MIGRATING):
            self.assertEqual(drain.EXIT_LEFT_BEHIND, drain.exit_code(
                [self._entry(drain.MOVED), self._entry(left)]), left)

    def test_render_table(self):
        entries = [
            self._entry(drain.MOVED, dest='dest'),
            self._entry(drain.CANNOT_MOVE, reason='SHUTOFF: no'),
            self._entry(drain.WOULD_MOVE, target='t1'),
            self._entry(drain.WOULD_MOVE)]
        lines = drain.render_table(entries).splitlines()
        self.assertEqual(8, len(lines))
        self.assertEqual(lines[0], lines[2])
        self.assertEqual(lines[0], lines[-1])
        self.assertEqual(
            ['Server ID', 'Name', 'State', 'From', 'To', 'Result', 'Reason'],
            [c.strip() for c in lines[1].strip('|').split('|')])
        cells = [[c.strip() for c in line.strip('|').split('|')]
                 for line in lines[3:7]]
        self.assertEqual(['id-moved', 'n', 'ACTIVE', 'src', 'dest', 'moved',
                          ''], cells[0])
        self.assertEqual(['-', 'cannot move', 'SHUTOFF: no'], cells[1][4:])
        self.assertEqual('t1', cells[2][4])
        self.assertEqual('(scheduler)', cells[3][4])
        self.assertEqual({len(line) for line in lines}, {len(lines[0])})

    def test_summary(self):
        self.assertEqual('1 cannot move, 2 moved', drain.summary(
            [self._entry(drain.MOVED), self._entry(drain.MOVED),
             self._entry(drain.CANNOT_MOVE)]))


class DrainTest(testtools.TestCase):

    def _servers(self, n=0, **kinds):
        servers = []
        for i in range(n):
            servers.append(server('ACTIVE', 'active', id='a%d' % i,
                                  name='a%d' % i, _done='ACTIVE'))
        servers.append(server('RESCUE', 'rescued', id='r', name='r',
                              _done='RESCUE'))
        servers.append(server('SHUTOFF', 'stopped', id='s', name='s',
                              _done='SHUTOFF'))
        return servers

    def _drain(self, client, **kwargs):
        out = io.StringIO()
        kwargs.setdefault('poll_interval', 0)
        code, entries = drain.drain(client, 'src', out=out,
                                    sleep=lambda s: None, **kwargs)
        return code, {e.id: e for e in entries}, out.getvalue()

    def test_moves_what_it_can_at_most_n_at_a_time(self):
        client = FakeClient(self._servers(5), polls=3)
        code, entries, out = self._drain(client, max_parallel=2)
        self.assertEqual(drain.EXIT_LEFT_BEHIND, code)
        self.assertEqual(2, client.peak)
        for sid in ('a0', 'a1', 'a2', 'a3', 'a4', 'r'):
            self.assertEqual(drain.MOVED, entries[sid].result, out)
            self.assertEqual('dest', entries[sid].dest)
        self.assertEqual(drain.CANNOT_MOVE, entries['s'].result)
        posts = {r[1]: (r[2], r[3]) for r in client.requests
                 if r[0] == 'POST'}
        self.assertEqual(('2.105', {'os-migrateLive': {
            'host': None, 'block_migration': 'auto'}}),
            posts['/servers/r/action'])
        self.assertEqual('2.68', posts['/servers/a0/action'][0])
        self.assertIn('r (r): moved to dest (RESCUE)', out)
        self.assertIn('s (s): cannot move: SHUTOFF: nova live-migrates', out)
        self.assertIn('Servers are left on src.', out)

    def test_all_moved_is_exit_0_with_target_and_block_migration(self):
        servers = self._servers(1)[:-1]
        client = FakeClient(servers)
        code, entries, out = self._drain(client, target='dest',
                                         block_migration=True)
        self.assertEqual(drain.EXIT_OK, code, out)
        for r in client.requests:
            if r[0] == 'POST':
                self.assertEqual({'host': 'dest', 'block_migration': True},
                                 r[3]['os-migrateLive'])

    def test_dry_run_sends_only_gets(self):
        client = FakeClient(self._servers(2))
        code, entries, out = self._drain(client, dry_run=True)
        self.assertEqual({'GET'}, {r[0] for r in client.requests})
        self.assertEqual(drain.WOULD_MOVE, entries['r'].result)
        self.assertEqual(drain.EXIT_LEFT_BEHIND, code)
        self.assertIn('Dry run, nothing was sent', out)
        code, _, _ = self._drain(FakeClient(self._servers(2)[:-1]),
                                 dry_run=True)
        self.assertEqual(drain.EXIT_OK, code)

    def test_failed_migration_reports_the_event(self):
        client = FakeClient(self._servers(1), fail=('r',))
        code, entries, out = self._drain(client)
        self.assertEqual(drain.FAILED, entries['r'].result)
        self.assertEqual('compute_live_migration: disk copy failed',
                         entries['r'].reason)
        self.assertEqual(drain.MOVED, entries['a0'].result)
        self.assertEqual(drain.EXIT_LEFT_BEHIND, code)

    def test_api_unreachable_while_migrating_keeps_following(self):
        client = FakeClient(self._servers(1), polls=2)
        real_request = client.request
        failures = {'left': 3}

        def request(method, url, microversion=None, body=None):
            if method == 'GET' and url == '/servers/r' and failures['left']:
                failures['left'] -= 1
                raise drain.ks_exc.ConnectFailure('API down')
            return real_request(method, url, microversion, body)
        client.request = request
        code, entries, out = self._drain(client)
        self.assertEqual(0, failures['left'])
        self.assertEqual(drain.MOVED, entries['r'].result, out)

    def test_api_unreachable_for_the_post_is_unknown(self):
        client = FakeClient(self._servers(1))
        real_request = client.request

        def request(method, url, microversion=None, body=None):
            if method == 'POST':
                raise drain.ks_exc.ConnectTimeout('timed out')
            return real_request(method, url, microversion, body)
        client.request = request
        code, entries, out = self._drain(client)
        self.assertEqual(drain.UNKNOWN, entries['r'].result)
        self.assertIn('check the server', entries['r'].reason)
        self.assertEqual(drain.EXIT_LEFT_BEHIND, code)

    def test_400_is_cannot_move_with_the_message(self):
        client = FakeClient(self._servers(), post_status=400, post_body={
            'badRequest': {'code': 400, 'message': 'node src lacks it'}})
        code, entries, out = self._drain(client)
        self.assertEqual(drain.CANNOT_MOVE, entries['r'].result)
        self.assertEqual('node src lacks it', entries['r'].reason)
        self.assertIn('r (r): cannot move: node src lacks it', out)

    def test_other_post_errors(self):
        for status, result in ((409, drain.CANNOT_MOVE), (404, drain.GONE),
                               (500, drain.FAILED), (403, drain.FAILED)):
            client = FakeClient(self._servers(), post_status=status,
                                post_body={'x': {'message': 'm'}})
            code, entries, out = self._drain(client)
            self.assertEqual(result, entries['r'].result, status)

    def test_timeout_leaves_it_running_and_reports_it(self):
        clock = iter(range(0, 1000, 10))
        client = FakeClient(self._servers(), polls=10 ** 6)
        entries = drain.plan(client, 'src')
        drain.execute(client, entries, timeout=25, sleep=lambda s: None,
                      clock=lambda: next(clock))
        entry = [e for e in entries if e.id == 'r'][0]
        self.assertEqual(drain.TIMED_OUT, entry.result)
        self.assertIn('after 25s', entry.reason)

    def test_stop_starts_nothing_new_but_follows_in_flight(self):
        client = FakeClient(self._servers(3), polls=2)
        stop = threading.Event()
        real_request = client.request

        def request(method, url, microversion=None, body=None):
            response = real_request(method, url, microversion, body)
            if method == 'POST':
                stop.set()  # Ctrl-C right after the first migration
            return response
        client.request = request
        code, entries, out = self._drain(client, stop=stop, max_parallel=1)
        self.assertEqual(drain.MOVED, entries['a0'].result)
        for sid in ('a1', 'a2', 'r'):
            self.assertEqual(drain.NOT_STARTED, entries[sid].result)
        self.assertEqual(1, len([r for r in client.requests
                                 if r[0] == 'POST']))
        self.assertEqual(drain.EXIT_LEFT_BEHIND, code)

    def test_second_interrupt_reports_in_flight_as_unknown(self):
        client = FakeClient(self._servers(3), polls=10 ** 6)
        entries = drain.plan(client, 'src')
        calls = []

        def sleep(seconds):
            calls.append(seconds)
            raise KeyboardInterrupt()
        drain.execute(client, entries, max_parallel=2, sleep=sleep)
        results = {e.id: e.result for e in entries}
        self.assertEqual({'a0': drain.UNKNOWN, 'a1': drain.UNKNOWN,
                          'a2': drain.NOT_STARTED, 'r': drain.NOT_STARTED,
                          's': drain.CANNOT_MOVE}, results)

    def test_interrupt_handler(self):
        stop, out = threading.Event(), io.StringIO()
        handler = drain._interrupt_handler(stop, out)
        handler(2, None)
        self.assertTrue(stop.is_set())
        self.assertIn('no new migrations', out.getvalue())
        self.assertRaises(KeyboardInterrupt, handler, 2, None)

    def test_the_trait_is_checked_before_anything_is_sent(self):
        servers = self._servers(1)
        for srv in servers:
            srv['OS-EXT-SRV-ATTR:hypervisor_hostname'] = 'src'
        cases = (
            (['u-src', 'u-dest'], {}, drain.MOVED, ''),
            (['u-dest'], {}, drain.CANNOT_MOVE,
             'its compute node src lacks the'),
            (['u-src'], {'target': 'dest'}, drain.CANNOT_MOVE,
             'the target host dest has compute node(s) without'),
            (['u-src'], {}, drain.CANNOT_MOVE,
             'no other enabled, up compute host'),
        )
        for capable, kwargs, result, reason in cases:
            client = FakeClient(servers)
            code, entries, out = self._drain(
                client, placement=FakePlacement(capable), **kwargs)
            self.assertEqual(result, entries['r'].result, out)
            self.assertIn(reason, entries['r'].reason)
            self.assertEqual(drain.MOVED, entries['a0'].result)
            posted = [r[1] for r in client.requests if r[0] == 'POST']
            self.assertEqual(result == drain.MOVED,
                             '/servers/r/action' in posted)

    def test_placement_unreadable_leaves_it_to_the_api(self):
        client = FakeClient(self._servers())
        code, entries, out = self._drain(client, dry_run=True)
        self.assertIn('note: the CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED trait '
                      'could not be read (no placement endpoint was given)',
                      out)
        self.assertEqual(drain.WOULD_MOVE, entries['r'].result)
        self.assertEqual('capability not checked: no placement endpoint '
                         'was given', entries['r'].reason)
        # Sent anyway; once the API accepted it, the note is gone.
        code, entries, out = self._drain(FakeClient(self._servers()))
        self.assertEqual((drain.MOVED, ''),
                         (entries['r'].result, entries['r'].reason))

    def test_shares_and_flavors_are_blockers(self):
        servers = self._servers(2)
        servers[0]['flavor'] = {'extra_specs': {
            'accel:device_profile': 'gpu'}}
        client = FakeClient(servers)
        client.shares = {'a1': [{'share_id': 'x'}]}
        code, entries, out = self._drain(client)
        self.assertEqual(drain.CANNOT_MOVE, entries['a0'].result)
        self.assertIn('accelerators', entries['a0'].reason)
        self.assertEqual(drain.CANNOT_MOVE, entries['a1'].result)
        self.assertIn('1 share(s) attached', entries['a1'].reason)
        posted = [r[1] for r in client.requests if r[0] == 'POST']
        self.assertEqual(['/servers/r/action'], posted)

    def test_bad_input(self):
        client = FakeClient(self._servers())
        error = self.assertRaises(drain.DrainError, drain.plan, client,
                                  'nowhere')
        self.assertIn("No compute service on host 'nowhere'", str(error))
        error = self.assertRaises(drain.DrainError, drain.plan, client,
                                  'src', 'src')
        self.assertIn('--target', str(error))
        error = self.assertRaises(drain.DrainError, drain.plan, client,
                                  'src', 'nowhere')
        self.assertIn('nowhere', str(error))

    def test_forbidden(self):
        client = FakeClient(self._servers())
        client.request = lambda *a, **k: Response(403, {'forbidden': {
            'message': 'Policy does not allow it'}})
        error = self.assertRaises(drain.DrainError, drain.plan, client,
                                  'src')
        self.assertIn('403: Policy does not allow it', str(error))
        self.assertIn('admin credentials', str(error))

    def test_listing_follows_pages(self):
        pages = {
            '/servers/detail?all_tenants=1&host=src': Response(200, {
                'servers': [server('ACTIVE', 'active', id='a')],
                'servers_links': [{'rel': 'next', 'href': 'x'}]}),
            '/servers/detail?all_tenants=1&host=src&marker=a': Response(
                200, {'servers': [server('ACTIVE', 'active', id='b'),
                                  server('ACTIVE', 'active', id='c',
                                         host='elsewhere')]}),
        }
        client = FakeClient([])
        client.request = lambda method, url, *a: pages[url]
        self.assertEqual(['a', 'b'], [
            s['id'] for s in drain.servers_on(client, 'src', '2.68')])

    def test_host_attribute_hidden_is_refused(self):
        srv = server('ACTIVE', 'active')
        del srv['OS-EXT-SRV-ATTR:host']
        error = self.assertRaises(drain.DrainError, drain.plan,
                                  FakeClient([srv]), 'src')
        self.assertIn('admin credentials', str(error))


class MainTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        for name in ('OS_CLOUD', 'OS_AUTH_URL', 'OS_USERNAME', 'OS_PASSWORD',
                     'OS_PROJECT_NAME', 'OS_AUTH_TYPE', 'OS_TOKEN',
                     'OS_ENDPOINT'):
            self.useFixture(fixtures.EnvironmentVariable(name))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', '/nonexistent/clouds.yaml'))

    def _main(self, argv):
        out, err = io.StringIO(), io.StringIO()
        code = drain.main(argv, out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    def test_api_unreachable_is_exit_2(self):
        code, out, err = self._main([
            'src', '--os-auth-url', 'http://127.0.0.1:9/v3',
            '--os-username', 'u', '--os-password', 'p',
            '--os-project-name', 'p', '--os-user-domain-id', 'default',
            '--os-project-domain-id', 'default'])
        self.assertEqual(drain.EXIT_BAD_INPUT, code)
        self.assertIn('cannot be reached', err)

    def test_no_credentials_is_exit_2(self):
        code, out, err = self._main(['src'])
        self.assertEqual(drain.EXIT_BAD_INPUT, code)
        self.assertTrue(err.startswith('nova-rescue-lm-drain: '), err)

    def test_options(self):
        for sdk in (None, drain._sdk_config()):
            parser = drain.build_parser(['h'], sdk)
            args = parser.parse_args(['h'])
            self.assertEqual((2, False, 'auto', None),
                             (args.max_parallel, args.dry_run,
                              args.block_migration, args.target))
            args = parser.parse_args(
                ['h', '--target', 't', '--max-parallel', '5', '--dry-run',
                 '--timeout', '60', '--block-migration', 'false'])
            self.assertEqual((5, True, False, 't', 60),
                             (args.max_parallel, args.dry_run,
                              args.block_migration, args.target,
                              args.migration_timeout))
            self.assertIs(
                True, parser.parse_args(
                    ['h', '--block-migration', 'TRUE']).block_migration)
            self.useFixture(fixtures.MonkeyPatch('sys.stderr', io.StringIO()))
            for bad in (['h', '--max-parallel', '0'],
                        ['h', '--block-migration', 'maybe'], []):
                self.assertRaises(SystemExit, parser.parse_args, bad)
