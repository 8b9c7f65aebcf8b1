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

"""nova-rescue-lm-drain against nova's real API in the functional harness.

The command's core (``nova_rescue_lm.drain.drain``) runs on a keystoneauth
session and adapters, as the command builds them, with a no-auth plugin on
the harness's endpoints: the compute API with the identity headers its
stubbed auth middleware reads, placement with the admin token its no-auth
middleware reads.
"""

import io

import fixtures
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint

from nova.api import auth as nova_auth
from nova import objects

from nova_rescue_lm.cmd import drain as drain_cmd
from nova_rescue_lm import drain
from nova_rescue_lm.drain import compute_api
from nova_rescue_lm.drain import reporting
from nova_rescue_lm.drain import results
from tests.functional import base


class DrainTestBase(base.RescueLiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')
        self.start_compute('stock', driver=base.STOCK_DRIVER)
        self.posts = []

    def _client(self, roles='reader,member,admin', user='admin'):
        session = ks_session.Session(
            auth=noauth.NoAuth(endpoint=self.api.base_url))
        adapter = ks_adapter.Adapter(
            session=session, service_type='compute',
            additional_headers={
                'X-Auth-User': user, 'X-User-Id': user,
                'X-Auth-Project-Id': self.api.project_id, 'X-Roles': roles})
        client = compute_api.ComputeClient(adapter)
        real_request = client.request

        def request(method, url, microversion=None, body=None):
            if method != 'GET':
                self.posts.append((url, microversion, body))
            return real_request(method, url, microversion, body)
        client.request = request
        return client

    def _placement(self):
        session = ks_session.Session(auth=token_endpoint.Token(
            self.placement.fixture.endpoint, 'admin'))
        return ks_adapter.Adapter(session=session,
                                  service_type='placement')

    def _drain(self, host, client=None, **kwargs):
        kwargs.setdefault('placement', self._placement())
        out = io.StringIO()
        code, entries = drain.drain(client or self._client(), host, out=out,
                                    poll_interval=0.2, timeout=120,
                                    **kwargs)
        return code, {e.name: e for e in entries}, out.getvalue()

    def _disable(self, host):
        """Keep the scheduler off ``host`` (ACTIVE servers may go to a
        stock compute; the tests want to know where they end).
        """
        service = self.api.get_services(binary='nova-compute', host=host)[0]
        self.api.put_service(service['id'], {'status': 'disabled'})

    def _servers(self, host='src'):
        servers = {}
        server = self._create_server(name='active', host=host,
                                     networks='none')
        servers['active'] = server
        server = self._create_server(name='paused', host=host,
                                     networks='none')
        self.api.post_server_action(server['id'], {'pause': None})
        servers['paused'] = self._wait_for_state_change(server, 'PAUSED')
        server = self._create_server(name='rescued', host=host,
                                     networks='none')
        servers['rescued'] = self._rescue_server(server)
        server = self._create_server(name='shutoff', host=host,
                                     networks='none')
        servers['shutoff'] = self._stop_server(server)
        return servers

    def _main(self, *argv):
        """The console script's main(), authenticating with keystoneauth's
        admin_token plugin on the harness's endpoints (the compute API's
        stubbed auth then sees an admin; placement's no-auth middleware
        takes the token "admin" for one).
        """
        stub = nova_auth.NovaKeystoneContext._create_context

        def as_admin(env, **kwargs):
            env.setdefault('HTTP_X_AUTH_USER', 'admin')
            env.setdefault('HTTP_X_AUTH_PROJECT_ID', self.api.project_id)
            env.setdefault('HTTP_X_ROLES', 'reader,member,admin')
            return stub(env, **kwargs)
        self.useFixture(fixtures.MonkeyPatch(
            'nova.api.auth.NovaKeystoneContext._create_context', as_admin))
        self.useFixture(fixtures.EnvironmentVariable('OS_CLOUD'))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', '/nonexistent/clouds.yaml'))
        out, err = io.StringIO(), io.StringIO()
        code = drain_cmd.main(list(argv) + [
            '--os-auth-type', 'admin_token', '--os-token', 'admin',
            '--os-endpoint', self.api.base_url,
            '--os-placement-endpoint-override',
            self.placement.fixture.endpoint],
            out=out, err=err)
        return code, out.getvalue(), err.getvalue()


class TestDrain(DrainTestBase):

    def test_drain_moves_active_paused_rescued_reports_shutoff(self):
        servers = self._servers()
        self._disable('stock')
        code, entries, out = self._drain('src', max_parallel=2)

        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code, out)
        for name, status in (('active', 'ACTIVE'), ('paused', 'PAUSED'),
                             ('rescued', 'RESCUE')):
            self.assertEqual(results.MOVED, entries[name].result, out)
            self.assertEqual('dest', entries[name].dest, out)
            server = self._show_server(servers[name])
            self.assertEqual('dest', server['OS-EXT-SRV-ATTR:host'])
            self.assertEqual(status, server['status'])
        self.assertEqual(results.CANNOT_MOVE, entries['shutoff'].result)
        self.assertIn('SHUTOFF', entries['shutoff'].reason)
        self.assertEqual('src', self._host_of(servers['shutoff']))

        # 2.105 only for the rescued server; 2.68 for the others.
        versions = {url.split('/')[2]: version
                    for url, version, _body in self.posts}
        self.assertEqual({servers['active']['id']: '2.68',
                          servers['paused']['id']: '2.68',
                          servers['rescued']['id']: '2.105'}, versions)
        for _url, _version, body in self.posts:
            self.assertEqual({'os-migrateLive': {
                'host': None, 'block_migration': 'auto'}}, body)

        table = reporting.render_table(entries.values())
        self.assertIn(table, out)
        self.assertIn('Servers are left on src.', out)
        self.assertIn('rescued (%s): moved to dest (RESCUE)' %
                      servers['rescued']['id'], out)

        # Nothing movable is left: a second drain moves nothing and still
        # says the SHUTOFF server is left behind.
        self.posts = []
        code, entries, out = self._drain('src')
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code)
        self.assertEqual(['shutoff'], list(entries))
        self.assertEqual([], self.posts)

    def test_drain_of_movable_servers_only_exits_0(self):
        server = self._rescue_server(
            self._create_server(name='r1', host='src', networks='none'))
        active = self._create_server(name='a1', host='src', networks='none')
        code, entries, out = self._drain('src', max_parallel=1,
                                         target='dest')
        self.assertEqual(reporting.EXIT_OK, code, out)
        self.assertEqual('dest', self._host_of(server))
        self.assertEqual('dest', self._host_of(active))
        self.assertEqual('RESCUE', self._show_server(server)['status'])
        for _url, _version, body in self.posts:
            self.assertEqual('dest', body['os-migrateLive']['host'])

    def test_failed_migration_is_reported_with_the_event_message(self):
        server = self._rescue_server(
            self._create_server(name='rescued', host='src', networks='none'))

        def failing_migration(domain, destination, params, flags):
            self.migrations.append({'destination': destination})
            domain.fail_job()
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.migrateToURI3',
            failing_migration))

        code, entries, out = self._drain('src', target='dest')
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code, out)
        entry = entries['rescued']
        self.assertEqual(results.FAILED, entry.result, out)
        self.assertIn('live migration 1 failed', entry.reason)
        self.assertIn('rescued (%s): failed: ' % server['id'], out)
        self.assertEqual('src', self._host_of(server))
        self.assertEqual('RESCUE', self._show_server(server)['status'])

    def test_dry_run_posts_nothing(self):
        servers = self._servers()
        code, entries, out = self._drain('src', dry_run=True)
        self.assertEqual([], self.posts)
        self.assertEqual([], self.migrations)
        for name in ('active', 'paused', 'rescued'):
            self.assertEqual(results.WOULD_MOVE, entries[name].result)
            self.assertEqual('src', self._host_of(servers[name]))
        self.assertEqual('2.105', entries['rescued'].microversion)
        self.assertEqual('2.68', entries['active'].microversion)
        self.assertEqual(results.CANNOT_MOVE, entries['shutoff'].result)
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code)
        self.assertIn('Dry run, nothing was sent', out)

    def test_rescued_to_incapable_target_without_placement_is_the_400(self):
        """Without placement the API's own check names the node."""
        server = self._rescue_server(
            self._create_server(name='rescued', host='src', networks='none'))
        code, entries, out = self._drain('src', target='stock',
                                         placement=None)
        self.assertIn('the CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED trait could '
                      'not be read (no placement endpoint was given)', out)
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code)
        entry = entries['rescued']
        self.assertEqual(results.CANNOT_MOVE, entry.result)
        self.assertIn('destination compute node', entry.reason)
        self.assertIn(' stock ', entry.reason)
        self.assertIn(base.TRAIT, entry.reason)
        self.assertIn('cannot move: %s' % entry.reason, out)
        self.assertEqual(1, len(self.posts))
        self.assertEqual('src', self._host_of(server))
        self.assertEqual('RESCUE', self._show_server(server)['status'])
        self.assertEqual([], self.migrations)

    def test_rescued_to_incapable_target_is_found_before_anything_moves(self):
        server = self._rescue_server(
            self._create_server(name='rescued', host='src', networks='none'))
        active = self._create_server(name='active', host='src',
                                     networks='none')
        for dry_run in (True, False):
            self.posts = []
            code, entries, out = self._drain('src', target='stock',
                                             dry_run=dry_run)
            self.assertEqual(reporting.EXIT_LEFT_BEHIND, code)
            entry = entries['rescued']
            self.assertEqual(results.CANNOT_MOVE, entry.result, out)
            self.assertEqual(
                'the target host stock has compute node(s) without the '
                '%s trait (stock): choose an upgraded compute, or no '
                '--target' % base.TRAIT, entry.reason)
            self.assertIn('rescued (%s): cannot move: the target host stock'
                          % server['id'], out)
            # Nothing is sent for the rescued server; the active one goes.
            self.assertNotIn(server['id'],
                             ' '.join(url for url, _v, _b in self.posts))
            if dry_run:
                self.assertEqual(results.WOULD_MOVE, entries['active'].result)
                self.assertEqual('stock', entries['active'].target)
                self.assertEqual([], self.posts)
        self.assertEqual(results.MOVED, entries['active'].result, out)
        self.assertEqual('stock', self._host_of(active))
        self.assertEqual('src', self._host_of(server))
        self.assertEqual('RESCUE', self._show_server(server)['status'])

    def test_rescued_on_incapable_source_is_found_before_anything_moves(self):
        server = self._create_server(name='rescued', host='stock',
                                     networks='none')
        server = self._rescue_on_stock_compute(server)
        active = self._create_server(name='active', host='stock',
                                     networks='none')
        code, entries, out = self._drain('stock', dry_run=True)
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code)
        self.assertEqual(results.CANNOT_MOVE, entries['rescued'].result)
        self.assertEqual(
            "its compute node stock lacks the %s trait (it does not run "
            "nova-rescue-lm's driver, or has [rescue_lm] "
            "live_migrate_rescued = False): upgrade that compute or "
            "unrescue the server" % base.TRAIT, entries['rescued'].reason)
        self.assertEqual(results.WOULD_MOVE, entries['active'].result)
        self.assertEqual([], self.posts)

        code, entries, out = self._drain('stock')
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code)
        self.assertEqual(results.CANNOT_MOVE, entries['rescued'].result)
        self.assertEqual(results.MOVED, entries['active'].result, out)
        self.assertEqual(['/servers/%s/action' % active['id']],
                         [url for url, _v, _b in self.posts])
        self.assertEqual('stock', self._host_of(server))
        self.assertEqual('RESCUE', self._show_server(server)['status'])

    def test_no_capable_destination(self):
        server = self._rescue_server(
            self._create_server(name='rescued', host='src', networks='none'))
        self._disable('dest')
        code, entries, out = self._drain('src')
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code)
        self.assertEqual(results.CANNOT_MOVE, entries['rescued'].result)
        self.assertIn('no other enabled, up compute host has a node with '
                      'the %s trait' % base.TRAIT, entries['rescued'].reason)
        self.assertEqual([], self.posts)
        self.assertEqual('src', self._host_of(server))

    def test_capable_rescued_server_would_move(self):
        self._rescue_server(
            self._create_server(name='rescued', host='src', networks='none'))
        code, entries, out = self._drain('src', dry_run=True)
        self.assertEqual(reporting.EXIT_OK, code, out)
        self.assertEqual((results.WOULD_MOVE, ''),
                         (entries['rescued'].result,
                          entries['rescued'].reason))
        self.assertNotIn('could not be read', out)

    def _set_flavor_extra_specs(self, server, **specs):
        instance = objects.Instance.get_by_uuid(
            self.ctxt, server['id'], expected_attrs=['flavor'])
        instance.flavor.extra_specs = dict(instance.flavor.extra_specs,
                                           **specs)
        instance.save()

    def test_flavors_nova_never_live_migrates(self):
        cases = {
            'accel': ({'accel:device_profile': 'gpu'}, 'accelerators'),
            'memenc': ({'hw:mem_encryption': 'True'}, 'memory encryption'),
            'vtpm': ({'hw:tpm_version': '2.0'},
                     "a vTPM with secret security 'user'"),
        }
        servers = {}
        for name, (specs, _reason) in cases.items():
            servers[name] = self._create_server(name=name, host='src',
                                                networks='none')
            self._set_flavor_extra_specs(servers[name], **specs)
        code, entries, out = self._drain('src')
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code)
        for name, (_specs, reason) in cases.items():
            self.assertEqual(results.CANNOT_MOVE, entries[name].result)
            self.assertIn(reason, entries[name].reason)
        self.assertEqual([], self.posts)
        # nova itself refuses them (for memory encryption the test image
        # would first need UEFI firmware; nova then answers 409 too).
        for name in ('accel', 'vtpm'):
            resp = self._live_migrate_action(
                servers[name], check_response_status=[400, 409])
            self.assertIn(resp.status, (400, 409))
            self.assertEqual('src', self._host_of(servers[name]))

    def test_source_down_or_target_disabled_moves_nothing(self):
        self._rescue_server(
            self._create_server(name='rescued', host='src', networks='none'))
        self._create_server(name='active', host='src', networks='none')
        self._disable('dest')
        code, entries, out = self._drain('src', target='dest')
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code)
        for entry in entries.values():
            self.assertEqual(
                (results.CANNOT_MOVE, 'the compute service on the target dest '
                 'is disabled; the scheduler does not place servers there'),
                (entry.result, entry.reason))

        self.computes['src'].stop()
        service = self.api.get_services(binary='nova-compute',
                                        host='src')[0]
        self.api.put_service(service['id'], {'forced_down': True})
        code, entries, out = self._drain('src')
        for entry in entries.values():
            self.assertEqual(results.CANNOT_MOVE, entry.result)
            self.assertEqual('the compute service on src is down; live '
                             'migration needs it running (evacuate the '
                             'servers instead: nova-rescue-lm-drain '
                             '--evacuate src)', entry.reason)
        self.assertEqual([], self.posts)

    def test_unknown_host_is_bad_input(self):
        self._create_server(name='active', host='src', networks='none')
        error = self.assertRaises(compute_api.DrainError, self._drain,
                                  'nowhere')
        self.assertIn("No compute service on host 'nowhere'", str(error))
        error = self.assertRaises(compute_api.DrainError, self._drain, 'src',
                                  target='nowhere')
        self.assertIn("'nowhere'", str(error))
        self.assertEqual([], self.posts)

    def test_non_admin_is_refused(self):
        self._create_server(name='active', host='src', networks='none')
        error = self.assertRaises(
            compute_api.DrainError, self._drain, 'src',
            client=self._client(roles='reader,member', user='demo'))
        self.assertIn('403', str(error))
        self.assertIn('admin credentials', str(error))
        self.assertEqual([], self.posts)

    def test_api_without_rescue_lm_cannot_move_rescued(self):
        server = self._rescue_server(
            self._create_server(name='rescued', host='src', networks='none'))
        # In this one process nova's own version document would say 2.105
        # too (the package raised nova's maximum); an API without the
        # package says 2.104.
        client = self._client()
        client._max = (2, 104)
        active = self._create_server(name='active', host='src',
                                     networks='none')
        self._disable('stock')
        code, entries, out = self._drain('src', client=client)
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code)
        self.assertEqual(results.CANNOT_MOVE, entries['rescued'].result)
        self.assertIn('nova-rescue-lm is not enabled',
                      entries['rescued'].reason)
        self.assertIn('2.104', entries['rescued'].reason)
        self.assertEqual('src', self._host_of(server))
        # The active server moved, at 2.68; nothing was sent for the other.
        self.assertEqual(results.MOVED, entries['active'].result)
        self.assertEqual('dest', self._host_of(active))
        self.assertEqual([('/servers/%s/action' % active['id'], '2.68')],
                         [post[:2] for post in self.posts])

    def test_command_line(self):
        rescued = self._rescue_server(
            self._create_server(name='rescued', host='src', networks='none'))
        shutoff = self._stop_server(
            self._create_server(name='shutoff', host='src', networks='none'))

        code, out, err = self._main('src', '--dry-run')
        self.assertEqual((1, ''), (code, err), out)
        self.assertIn('would move', out)
        self.assertNotIn('could not be read', out)
        self.assertEqual('src', self._host_of(rescued))

        # The trait is read from placement through the command's adapters.
        code, out, err = self._main('src', '--dry-run', '--target', 'stock')
        self.assertEqual((1, ''), (code, err), out)
        self.assertRegex(out, r'\| %s \| rescued +\| RESCUE +\| src +\| '
                              r'- +\| cannot move +\| the target host stock '
                              r'has compute node\(s\) without the %s trait'
                         % (rescued['id'], base.TRAIT))

        code, out, err = self._main('nowhere')
        self.assertEqual(2, code)
        self.assertIn("No compute service on host 'nowhere'", err)

        code, out, err = self._main('src', '--max-parallel', '1',
                                    '--timeout', '120')
        self.assertEqual((1, ''), (code, err), out)
        self.assertEqual('dest', self._host_of(rescued))
        self.assertEqual('RESCUE', self._show_server(rescued)['status'])
        self.assertEqual('src', self._host_of(shutoff))
        self.assertRegex(out, r'\| %s \| rescued +\| RESCUE +\| src +\| '
                              r'dest +\| moved +\|' % rescued['id'])
        self.assertRegex(out, r'\| %s \| shutoff +\| SHUTOFF +\| src +\| '
                              r'- +\| cannot move +\| SHUTOFF: ' %
                         shutoff['id'])


class TestEvacuationDrain(DrainTestBase):
    """nova-rescue-lm-drain --evacuate: the servers of a failed host.

    RPC casts stay casts, as in a real cloud: nova answers the evacuation
    before its conductor schedules it, and a failure shows up afterwards.
    """

    CAST_AS_CALL = False

    def _host_down(self, host='src'):
        """The host has failed: nova-compute stopped and forced down."""
        self.computes[host].stop()
        service = self.api.get_services(binary='nova-compute',
                                        host=host)[0]
        self.api.put_service(service['id'], {'forced_down': True})

    def _error(self, name='error', host='src'):
        server = self._create_server(name=name, host=host, networks='none')
        self.api.post_server_action(server['id'],
                                    {'os-resetState': {'state': 'error'}})
        # os-resetState is done when it answers; ERROR without a fault
        server = self._show_server(server)
        self.assertEqual('ERROR', server['status'])
        return server

    def _shutoff_on(self, server, host='dest'):
        found = self._show_server(server)
        self.assertEqual((host, 'SHUTOFF', None),
                         (found['OS-EXT-SRV-ATTR:host'], found['status'],
                          found['OS-EXT-STS:task_state']))

    def test_evacuates_every_server_of_a_down_host(self):
        servers = self._servers()
        servers['error'] = self._error()
        self._disable('stock')
        self._host_down()
        code, entries, out = self._drain('src', evacuate=True,
                                         max_parallel=2)

        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code, out)
        for name in ('active', 'error', 'rescued', 'shutoff'):
            self.assertEqual((results.MOVED, 'dest'),
                             (entries[name].result, entries[name].dest), out)
            self.assertEqual('done', self._migrations_of(
                servers[name])[0]['status'])
        # nova stops every evacuated server (2.95, 2.106 for the rescued
        # one) except one that was in ERROR: that one it starts.
        for name in ('active', 'rescued', 'shutoff'):
            self.assertEqual('SHUTOFF', entries[name].state, out)
            self._shutoff_on(servers[name])
        self.assertEqual('ACTIVE', entries['error'].state, out)
        self.assertEqual(('dest', 'ACTIVE'), (
            self._host_of(servers['error']),
            self._show_server(servers['error'])['status']))
        self.assertEqual(results.CANNOT_MOVE, entries['paused'].result)
        self.assertIn('PAUSED: nova does not evacuate a paused server',
                      entries['paused'].reason)
        self.assertEqual('src', self._host_of(servers['paused']))

        # 2.106 only for the rescued server; 2.95 for the others, and
        # nova's latest body: no host, no force, no onSharedStorage.
        versions = {url.split('/')[2]: version
                    for url, version, _body in self.posts}
        self.assertEqual({servers['active']['id']: '2.95',
                          servers['error']['id']: '2.95',
                          servers['shutoff']['id']: '2.95',
                          servers['rescued']['id']: '2.106'}, versions)
        for _url, _version, body in self.posts:
            self.assertEqual({'evacuate': {}}, body)
        self.assertIn('rescued (%s): RESCUE: evacuate at microversion 2.106 '
                      'to a host the scheduler picks' %
                      servers['rescued']['id'], out)
        self.assertIn('rescued (%s): evacuated to dest (SHUTOFF)' %
                      servers['rescued']['id'], out)
        self.assertIn(reporting.render_table(entries.values()), out)
        self.assertTrue(out.endswith('1 cannot move, 4 moved\nServers are '
                                     'left on src.\n'), out)

        # The rescued server left its rescue behind: it starts as itself.
        self.api.post_server_action(servers['rescued']['id'],
                                    {'os-start': None})
        self._wait_for_state_change(servers['rescued'], 'ACTIVE')

    def test_to_a_target(self):
        rescued = self._rescue_server(
            self._create_server(name='rescued', host='src', networks='none'))
        active = self._create_server(name='active', host='src',
                                     networks='none')
        self._host_down()
        # A target without the trait: only the rescued server stays.
        code, entries, out = self._drain('src', evacuate=True,
                                         target='stock')
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code, out)
        self.assertEqual(results.CANNOT_MOVE, entries['rescued'].result)
        self.assertIn('the target host stock has compute node(s) without '
                      'the %s trait' % base.TRAIT, entries['rescued'].reason)
        self.assertEqual('RESCUE', self._show_server(rescued)['status'])
        self.assertEqual(results.MOVED, entries['active'].result, out)
        self._shutoff_on(active, 'stock')

        code, entries, out = self._drain('src', evacuate=True,
                                         target='dest')
        self.assertEqual(reporting.EXIT_OK, code, out)
        self._shutoff_on(rescued)
        self.assertEqual([{'evacuate': {'host': 'stock'}},
                          {'evacuate': {'host': 'dest'}}],
                         [body for _url, _version, body in self.posts])

    def test_a_failed_evacuation_is_reported_with_the_events_message(self):
        rescued = self._rescue_server(
            self._create_server(name='rescued', host='src', networks='none'))
        active = self._create_server(name='active', host='src',
                                     networks='none')
        self._disable('dest')
        self._disable('stock')
        self._host_down()
        code, entries, out = self._drain('src', evacuate=True)
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code, out)
        # Found before anything is sent: no host can take it.
        self.assertEqual(results.CANNOT_MOVE, entries['rescued'].result)
        self.assertIn('no other enabled, up compute host has a node with '
                      'the %s trait' % base.TRAIT, entries['rescued'].reason)
        self.assertEqual('RESCUE', self._show_server(rescued)['status'])
        # Sent, and nova's scheduler found no host: ERROR, still on src.
        self.assertEqual((results.FAILED, 'ERROR'),
                         (entries['active'].result, entries['active'].state),
                         out)
        self.assertIn('rebuild_server: No valid host was found',
                      entries['active'].reason)
        self.assertEqual('error', self._migrations_of(active)[0]['status'])
        self.assertEqual(['/servers/%s/action' % active['id']],
                         [url for url, _version, _body in self.posts])
        self.assertEqual('src', self._host_of(active))

    def test_an_api_without_2_106_evacuates_the_others(self):
        rescued = self._rescue_server(
            self._create_server(name='rescued', host='src', networks='none'))
        active = self._create_server(name='active', host='src',
                                     networks='none')
        self._disable('stock')
        self._host_down()
        client = self._client()
        client._max = (2, 105)
        code, entries, out = self._drain('src', client=client,
                                         evacuate=True)
        self.assertEqual(reporting.EXIT_LEFT_BEHIND, code)
        self.assertIn('does not offer microversion 2.106',
                      entries['rescued'].reason)
        self.assertIn('2.105', entries['rescued'].reason)
        self.assertEqual('src', self._host_of(rescued))
        self._shutoff_on(active)
        self.assertEqual([('/servers/%s/action' % active['id'], '2.95')],
                         [post[:2] for post in self.posts])

    def test_a_host_whose_compute_is_up_is_refused(self):
        self._rescue_server(
            self._create_server(name='rescued', host='src', networks='none'))
        error = self.assertRaises(compute_api.DrainError, self._drain,
                                  'src', evacuate=True)
        self.assertIn('The compute service on src is up: nova evacuates '
                      'servers only from a host whose nova-compute is down',
                      str(error))
        self.assertEqual([], self.posts)

    def test_evacuate_command_line(self):
        rescued = self._rescue_server(
            self._create_server(name='rescued', host='src', networks='none'))
        paused = self._create_server(name='paused', host='src',
                                     networks='none')
        self.api.post_server_action(paused['id'], {'pause': None})
        self._wait_for_state_change(paused, 'PAUSED')

        code, out, err = self._main('--evacuate', 'src')
        self.assertEqual(2, code, out)
        self.assertIn('nova-rescue-lm-drain: The compute service on src is '
                      'up', err)

        self._host_down()
        code, out, err = self._main('--evacuate', 'src', '--dry-run')
        self.assertEqual((1, ''), (code, err), out)
        self.assertIn('Dry run, nothing was sent: 1 cannot move, 1 would '
                      'move', out)
        self.assertEqual('src', self._host_of(rescued))

        self.useFixture(fixtures.MonkeyPatch('sys.stderr', io.StringIO()))
        self.assertRaises(SystemExit, self._main, '--evacuate', 'src',
                          '--block-migration', 'auto')

        code, out, err = self._main('--evacuate', 'src', '--timeout', '120')
        self.assertEqual((1, ''), (code, err), out)
        self._shutoff_on(rescued)
        self.assertRegex(out, r'\| %s \| rescued +\| SHUTOFF +\| src +\| '
                              r'dest +\| moved +\|' % rescued['id'])
        self.assertRegex(out, r'\| %s \| paused +\| PAUSED +\| src +\| '
                              r'- +\| cannot move +\| PAUSED: nova does not '
                              r'evacuate' % paused['id'])
