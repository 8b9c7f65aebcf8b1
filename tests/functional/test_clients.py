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

"""The nova and openstack CLIs against nova's real API (functional harness).

Both shells run in-process, exactly as their console scripts call them
(``novaclient.shell.main(argv)``, ``openstackclient.shell.main(argv)``), and
reach the harness's API through its wsgi-intercept URL. They authenticate
with keystoneauth's ``admin_token`` plugin (a token and an endpoint, no
keystone); the harness's stubbed auth middleware then sees the identity
these tests choose.

The ``nova`` CLI gets the package's start-up hook as a Python start-up would
(``install_import_hook()``, which the installed .pth file runs), so the real
``novaclient.shell`` is patched exactly as on an operator's workstation.
"""

import io
import re

import fixtures

from nova.api import auth as nova_auth

from nova_rescue_lm.client import novaclient_shell
from nova_rescue_lm import microversions
from tests.functional import base

UNREACHABLE = 'http://127.0.0.1:9/v2.1'


class CLITestBase(base.RescueLiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')
        self.start_compute('stock', driver=base.STOCK_DRIVER)
        self.user, self.roles = 'admin', 'reader,member,admin'
        stub = nova_auth.NovaKeystoneContext._create_context

        def as_test_user(env, **kwargs):
            env.setdefault('HTTP_X_AUTH_USER', self.user)
            env.setdefault('HTTP_X_USER_ID', self.user)
            env.setdefault('HTTP_X_AUTH_PROJECT_ID', self.api.project_id)
            env.setdefault('HTTP_X_ROLES', self.roles)
            return stub(env, **kwargs)
        self.useFixture(fixtures.MonkeyPatch(
            'nova.api.auth.NovaKeystoneContext._create_context',
            as_test_user))
        for name in ('OS_CLOUD', 'OS_AUTH_URL', 'OS_USERNAME', 'OS_PASSWORD',
                     'OS_PROJECT_ID', 'OS_PROJECT_NAME', 'OS_AUTH_TYPE',
                     'OS_TOKEN', 'OS_ENDPOINT', 'OS_COMPUTE_API_VERSION'):
            self.useFixture(fixtures.EnvironmentVariable(name))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', '/nonexistent/clouds.yaml'))

    def _run(self, main, argv):
        """(exit code, stdout, stderr) of a console script's main(argv)."""
        out, err = io.StringIO(), io.StringIO()
        with fixtures.MonkeyPatch('sys.stdout', out), \
                fixtures.MonkeyPatch('sys.stderr', err):
            try:
                code = main(list(argv))
            except SystemExit as e:
                code = e.code
        return code or 0, out.getvalue(), err.getvalue()

    def _rescued(self, name='rescued', host='src'):
        return self._rescue_server(
            self._create_server(name=name, host=host, networks='none'))

    def _moved(self, server, host):
        """Wait until the server's live migration is over, on ``host``."""
        self._wait_for_migration_status(server, ['completed'])
        return self._wait_for_server_parameter(
            server, {'OS-EXT-SRV-ATTR:host': host, 'status': 'RESCUE'})

    def _stays(self, server, host='src'):
        found = self._show_server(server)
        self.assertEqual((host, 'RESCUE'),
                         (found['OS-EXT-SRV-ATTR:host'], found['status']))
        self.assertEqual([], self.migrations)

    def _host_down(self, host='src'):
        """The host has failed: its nova-compute stopped and forced down.

        The compute without the trait is disabled too, so that every
        evacuation (of a server that is not rescued as well) lands on
        'dest'.
        """
        self.computes[host].stop()
        service = self.api.get_services(binary='nova-compute',
                                        host=host)[0]
        self.api.put_service(service['id'], {'forced_down': True})
        stock = self.api.get_services(binary='nova-compute',
                                      host='stock')[0]
        self.api.put_service(stock['id'], {'status': 'disabled'})

    def _evacuated(self, server, host='dest'):
        """Wait until the server's evacuation is over: SHUTOFF on ``host``
        (nova leaves every server it evacuates at 2.95 or later stopped).
        """
        self._wait_for_migration_status(server, ['done'])
        return self._wait_for_server_parameter(
            server, {'OS-EXT-SRV-ATTR:host': host, 'status': 'SHUTOFF',
                     'OS-EXT-STS:task_state': None})

    def _not_evacuated(self, server, host='src', status='RESCUE'):
        found = self._show_server(server)
        self.assertEqual((host, status, None),
                         (found['OS-EXT-SRV-ATTR:host'], found['status'],
                          found['OS-EXT-STS:task_state']))
        self.assertEqual([], self.api.api_get(
            '/os-migrations?instance_uuid=%s&migration_type=evacuation'
            % server['id']).body['migrations'])


class TestNovaCLI(CLITestBase):

    def setUp(self):
        super().setUp()
        # What the .pth file does when Python starts.
        novaclient_shell.install_import_hook()
        from novaclient import shell
        self.shell = shell
        self.assertIsNone(novaclient_shell.unsupported_reason(shell))
        self.assertTrue(getattr(shell.OpenStackComputeShell.main,
                                novaclient_shell._PATCHED))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_AUTH_URL', 'http://keystone.invalid/identity'))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_PROJECT_ID', self.api.project_id))

    def _nova(self, *argv, endpoint=None):
        return self._run(self.shell.main, [
            '--os-auth-type', 'admin_token', '--os-token', 'admin',
            '--os-endpoint', endpoint or self.api.base_url] + list(argv))

    def _stock(self):
        """python-novaclient without the package's hook."""
        self.useFixture(fixtures.MonkeyPatch(
            'novaclient.shell.OpenStackComputeShell.main',
            self.shell.OpenStackComputeShell.main.__wrapped__))

    def test_live_migration_at_2_105(self):
        server = self._rescued()
        code, out, err = self._nova('--os-compute-api-version', '2.105',
                                    'live-migration', server['id'])
        self.assertEqual(0, code, err)
        self._moved(server, 'dest')

    def test_live_migration_at_2_105_to_a_host(self):
        server = self._rescued()
        code, out, err = self._nova('--os-compute-api-version=2.105',
                                    'live-migration', server['id'], 'dest')
        self.assertEqual(0, code, err)
        self._moved(server, 'dest')
        # The API version stays as it was for the rest of the process.
        import novaclient
        self.assertEqual('2.96', novaclient.API_MAX_VERSION.get_string())

    def test_environment_variable_asks_for_2_105(self):
        server = self._rescued()
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_COMPUTE_API_VERSION', '2.105'))
        code, out, err = self._nova('live-migration', server['id'])
        self.assertEqual(0, code, err)
        self._moved(server, 'dest')

    def test_incapable_destination_is_the_apis_400(self):
        server = self._rescued()
        code, out, err = self._nova('--os-compute-api-version', '2.105',
                                    'live-migration', server['id'], 'stock')
        self.assertEqual(1, code)
        self.assertIn('ERROR (BadRequest): The destination compute node '
                      'stock does not support live migration of rescued '
                      'servers', err)
        self.assertIn('(HTTP 400)', err)
        self._stays(server)

    def test_bad_input(self):
        server = self._rescued()
        code, out, err = self._nova('--os-compute-api-version', '2.105',
                                    'live-migration', 'no-such-server')
        self.assertEqual(1, code)
        self.assertIn("No server with a name or ID of 'no-such-server' "
                      "exists.", err)
        code, out, err = self._nova('--os-compute-api-version', '2.105',
                                    'live-migration', server['id'],
                                    'no-such-host')
        self.assertEqual(1, code)
        self.assertIn('Compute host no-such-host could not be found.', err)
        self.assertIn('(HTTP 400)', err)
        self._stays(server)

    def test_no_permission(self):
        server = self._rescued()
        self.user, self.roles = 'demo', 'reader,member'
        code, out, err = self._nova('--os-compute-api-version', '2.105',
                                    'live-migration', server['id'], 'dest')
        self.assertEqual(1, code)
        self.assertIn('ERROR (Forbidden): Policy doesn', err)
        self.assertIn('migrate_live:host', err)
        self.assertIn('(HTTP 403)', err)
        self._stays(server)

    def test_api_down(self):
        code, out, err = self._nova('--os-compute-api-version', '2.105',
                                    'live-migration', 'x',
                                    endpoint=UNREACHABLE)
        self.assertEqual(1, code)
        self.assertIn('ERROR (ConnectFailure): Unable to establish '
                      'connection to %s' % UNREACHABLE, err)

    def test_other_versions_are_untouched(self):
        """No version, 2.latest, 2.96: the stock negotiation (at most 2.96),
        so the rescued server gets nova's 409; 2.97..2.104 stay refused by
        the client as before.
        """
        server = self._rescued()
        for argv in ((), ('--os-compute-api-version', '2.latest'),
                     ('--os-compute-api-version', '2.96')):
            code, out, err = self._nova(*argv + ('live-migration',
                                                 server['id']))
            self.assertEqual(1, code, argv)
            self.assertIn("ERROR (Conflict): Cannot 'os-migrateLive' "
                          "instance %s while it is in vm_state rescued "
                          "(HTTP 409)" % server['id'], err)
        code, out, err = self._nova('--os-compute-api-version', '2.104',
                                    'live-migration', server['id'])
        self.assertEqual(1, code)
        self.assertIn("The valid version range is '2.1' to '2.96'", err)
        self._stays(server)

    def test_stock_novaclient_caps_at_2_96(self):
        server = self._rescued()
        self._stock()
        code, out, err = self._nova('--os-compute-api-version', '2.105',
                                    'live-migration', server['id'])
        self.assertEqual(1, code)
        self.assertIn("ERROR (CommandError): The specified version isn't "
                      "supported by client. The valid version range is "
                      "'2.1' to '2.96'", err)
        code, out, err = self._nova('live-migration', server['id'])
        self.assertEqual(1, code)
        self.assertIn('(HTTP 409)', err)
        self._stays(server)

    def test_version_list_shows_the_client_accepts_2_105(self):
        """The check the usage guide gives operators."""
        code, out, err = self._nova('--os-compute-api-version', '2.105',
                                    'version-list')
        self.assertEqual(0, code, err)
        self.assertIn('Client supported API versions:\nMinimum version 2.1\n'
                      'Maximum version 2.105\n', out)
        self.assertRegex(out, r'\| v2\.1 +\| CURRENT +\| \S+ +\| 2\.1 +\| '
                              r'%s +\|' % re.escape(microversions.MAX))
        code, out, err = self._nova('--os-compute-api-version', '2.106',
                                    'version-list')
        self.assertEqual(0, code, err)
        self.assertIn('Client supported API versions:\nMinimum version 2.1\n'
                      'Maximum version 2.106\n', out)
        self._stock()
        code, out, err = self._nova('--os-compute-api-version', '2.105',
                                    'version-list')
        self.assertEqual(1, code)
        self.assertIn("The valid version range is '2.1' to '2.96'", err)

    def test_other_commands_at_2_105(self):
        server = self._rescued()
        code, out, err = self._nova('--os-compute-api-version', '2.105',
                                    'show', server['id'])
        self.assertEqual(0, code, err)
        self.assertRegex(out, r'\| status +\| RESCUE +\|')

    def test_host_evacuate_live_at_2_105(self):
        """nova's own host drain sends 2.105 for every server on the host."""
        server = self._rescued()
        active = self._create_server(name='active', host='src',
                                     networks='none')
        code, out, err = self._nova('--os-compute-api-version', '2.105',
                                    'host-evacuate-live', 'src')
        self.assertEqual(0, code, err)
        self.assertRegex(out, r'\| %s \| True +\|' % server['id'])
        self.assertRegex(out, r'\| %s \| True +\|' % active['id'])
        self._moved(server, 'dest')
        self._wait_for_migration_status(active, ['completed'])
        self.assertNotEqual('src', self._host_of(active))

    def test_evacuate_rescued_at_2_106(self):
        server = self._rescued()
        self._host_down()
        code, out, err = self._nova('--os-compute-api-version', '2.106',
                                    'evacuate', server['id'])
        self.assertEqual(0, code, err)
        self._evacuated(server)
        import novaclient
        self.assertEqual('2.96', novaclient.API_MAX_VERSION.get_string())

    def test_evacuate_rescued_at_2_106_to_a_host(self):
        server = self._rescued()
        self._host_down()
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_COMPUTE_API_VERSION', '2.106'))
        code, out, err = self._nova('evacuate', server['id'], 'dest')
        self.assertEqual(0, code, err)
        self._evacuated(server)

    def test_evacuate_options_of_older_versions_are_refused(self):
        """At 2.106 evacuate has novaclient's latest options: no --force
        (2.29-2.67), no --on-shared-storage (up to 2.13).
        """
        server = self._rescued()
        self._host_down()
        for option in ('--force', '--on-shared-storage'):
            code, out, err = self._nova('--os-compute-api-version', '2.106',
                                        'evacuate', option, server['id'],
                                        'dest')
            self.assertEqual(2, code, option)
            self.assertIn('unrecognized arguments: %s' % option, err)
        self._not_evacuated(server)

    def test_evacuate_below_2_106_is_novas_409(self):
        server = self._rescued()
        self._host_down()
        for argv in (('--os-compute-api-version', '2.105'), (),
                     ('--os-compute-api-version', '2.latest')):
            code, out, err = self._nova(*argv + ('evacuate', server['id']))
            self.assertEqual(1, code, argv)
            self.assertIn("ERROR (Conflict): Cannot 'evacuate' instance %s "
                          "while it is in vm_state rescued (HTTP 409)"
                          % server['id'], err)
        self._not_evacuated(server)

    def test_evacuate_to_an_incapable_host_is_the_apis_400(self):
        server = self._rescued()
        self._host_down()
        code, out, err = self._nova('--os-compute-api-version', '2.106',
                                    'evacuate', server['id'], 'stock')
        self.assertEqual(1, code)
        self.assertIn('ERROR (BadRequest): The destination compute node '
                      'stock cannot take rescued servers', err)
        self._not_evacuated(server)

    def test_evacuate_from_a_live_host_is_novas_400(self):
        server = self._rescued()
        code, out, err = self._nova('--os-compute-api-version', '2.106',
                                    'evacuate', server['id'])
        self.assertEqual(1, code)
        self.assertIn('ERROR (BadRequest): Compute service of src is still '
                      'in use. (HTTP 400)', err)
        self._not_evacuated(server)

    def test_host_evacuate_at_2_106(self):
        """nova's own host evacuation sends 2.106 for every server."""
        server = self._rescued()
        active = self._create_server(name='active', host='src',
                                     networks='none')
        self._host_down()
        code, out, err = self._nova('--os-compute-api-version', '2.106',
                                    'host-evacuate', 'src')
        self.assertEqual(0, code, err)
        self.assertRegex(out, r'\| %s \| True +\|' % server['id'])
        self.assertRegex(out, r'\| %s \| True +\|' % active['id'])
        self._evacuated(server)
        self._evacuated(active)


class TestOpenStackCLI(CLITestBase):

    def setUp(self):
        super().setUp()
        from openstackclient import shell
        self.shell = shell
        self.useFixture(fixtures.MonkeyPatch(
            'nova_rescue_lm.client.osc_commands.MigrateRescuedServer.'
            'poll_interval', 0.1))

    def _forget_clients(self):
        """OSC caches each service client on its ClientManager class, i.e.
        once per process (one run per process from the console script);
        these tests run it many times in one process.
        """
        from openstackclient.common import clientmanager
        for cls in clientmanager.ClientManager.__mro__:
            for value in vars(cls).values():
                if hasattr(value, '_handle'):
                    value._handle = None

    def _openstack(self, *argv, endpoint=None):
        self._forget_clients()
        self.addCleanup(self._forget_clients)
        return self._run(self.shell.main, [
            '--os-auth-type', 'admin_token', '--os-token', 'admin',
            '--os-endpoint', endpoint or self.api.base_url] + list(argv))

    def test_rescued_server_migrate(self):
        server = self._rescued()
        code, out, err = self._openstack('rescued', 'server', 'migrate',
                                         server['id'])
        self.assertEqual((0, ''), (code, out), err)
        self._moved(server, 'dest')

    def test_wait_reports_where_it_went(self):
        server = self._rescued()
        code, out, err = self._openstack('rescued', 'server', 'migrate',
                                         '--wait', '--host', 'dest',
                                         server['name'])
        self.assertEqual(0, code, err)
        self.assertIn('Complete: server %s moved from src to dest and is '
                      'RESCUE.' % server['id'], out)
        self._moved(server, 'dest')

    def test_wait_reports_a_failed_migration(self):
        server = self._rescued()

        def failing_migration(domain, destination, params, flags):
            domain.fail_job()
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.migrateToURI3',
            failing_migration))
        code, out, err = self._openstack('rescued', 'server', 'migrate',
                                         '--wait', server['id'])
        self.assertEqual(1, code)
        self.assertIn('Live migration of server %s failed: ' % server['id'],
                      err)
        self.assertIn('The server is RESCUE on src.', err)
        self._stays(server)

    def test_incapable_destination(self):
        server = self._rescued()
        code, out, err = self._openstack('rescued', 'server', 'migrate',
                                         '--host', 'stock', server['id'])
        self.assertEqual(1, code)
        self.assertIn('Cannot live-migrate server %s: The destination '
                      'compute node stock does not support live migration '
                      'of rescued servers' % server['id'], err)
        self._stays(server)

    def test_bad_input(self):
        server = self._rescued()
        active = self._create_server(name='active', host='src',
                                     networks='none')
        cases = (
            (('no-such-server',), 'No Server found for no-such-server'),
            ((active['id'],), 'Server %s is ACTIVE, not RESCUE: use '
                              '"openstack server migrate --live-migration"'
                              % active['id']),
            ((server['id'], '--host', 'no-such-host'),
             'Compute host no-such-host could not be found.'),
        )
        for argv, message in cases:
            code, out, err = self._openstack(
                'rescued', 'server', 'migrate', *argv)
            self.assertEqual(1, code, argv)
            self.assertIn(message, err)
        self._stays(server)
        self.assertEqual('src', self._host_of(active))

    def test_no_permission(self):
        server = self._rescued()
        self.user, self.roles = 'demo', 'reader,member'
        code, out, err = self._openstack('rescued', 'server', 'migrate',
                                         '--host', 'dest', server['id'])
        self.assertEqual(1, code)
        self.assertIn('Cannot live-migrate server %s: 403: Policy doesn'
                      % server['id'], err)
        self._stays(server)

    def test_api_down(self):
        code, out, err = self._openstack('rescued', 'server', 'migrate', 'x',
                                         endpoint=UNREACHABLE)
        self.assertEqual(1, code)
        self.assertIn('Unable to establish connection', err)

    def test_stock_server_migrate_is_unchanged(self):
        """OSC's own command still negotiates below 2.105: nova's 409."""
        server = self._rescued()
        code, out, err = self._openstack(
            '--os-compute-api-version', '2.105', 'server', 'migrate',
            '--live-migration', server['id'])
        self.assertEqual(1, code)
        self.assertIn("Cannot 'os-migrateLive' instance %s while it is in "
                      "vm_state rescued" % server['id'], err)
        self._stays(server)
        # The plugin adds one command and replaces none of OSC's.
        from cliff import commandmanager
        from openstackclient.compute.v2 import server as osc_server
        manager = commandmanager.CommandManager('openstack.compute.v2')
        before = {name: ep for name, ep in manager}
        manager.add_command_group('openstack.rescue_lm.v1')
        after = {name: ep for name, ep in manager}
        self.assertEqual(['rescued server migrate'],
                         sorted(set(after) - set(before)))
        self.assertEqual(before, {name: after[name] for name in before})
        found, _name, _args = manager.find_command(
            ['server', 'migrate', '--live-migration', 'x'])
        self.assertIs(osc_server.MigrateServer, found)

    def test_server_evacuate_at_2_106(self):
        """OSC's own command: openstacksdk sends the version asked for."""
        server = self._rescued()
        self._host_down()
        code, out, err = self._openstack(
            '--os-compute-api-version', '2.106', 'server', 'evacuate',
            server['id'])
        self.assertEqual(0, code, err)
        self.assertRegex(out, r'\| id +\| %s +\|' % server['id'])
        self._evacuated(server)

    def test_server_evacuate_at_2_106_to_a_host(self):
        server = self._rescued()
        self._host_down()
        code, out, err = self._openstack(
            '--os-compute-api-version', '2.106', 'server', 'evacuate',
            '--host', 'dest', server['name'])
        self.assertEqual(0, code, err)
        self._evacuated(server)

    def test_server_evacuate_below_2_106_is_novas_409(self):
        server = self._rescued()
        self._host_down()
        for argv in (('--os-compute-api-version', '2.105'), ()):
            code, out, err = self._openstack(
                *argv + ('server', 'evacuate', server['id']))
            self.assertEqual(1, code, argv)
            self.assertIn("Cannot 'evacuate' instance %s while it is in "
                          "vm_state rescued" % server['id'], err)
        self._not_evacuated(server)

    def test_server_evacuate_above_the_apis_maximum(self):
        """openstacksdk checks the version asked for against the API's
        version document: an API without 2.106 is told, nothing is sent.
        """
        server = self._rescued()
        self._host_down()
        code, out, err = self._openstack(
            '--os-compute-api-version', '2.107', 'server', 'evacuate',
            server['id'])
        self.assertEqual(1, code)
        self.assertIn('A default microversion for service compute of 2.107 '
                      'was requested, but the cloud only supports a minimum '
                      'of 2.1 and a maximum of %s' % microversions.MAX, err)
        self._not_evacuated(server)
