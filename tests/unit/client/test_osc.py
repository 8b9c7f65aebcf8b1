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

"""The OSC plugin: its interface and ``openstack rescued server migrate``."""

import configparser
import io
import os
import types
from unittest import mock

from openstack.compute.v2 import server as sdk_server
from openstackclient.compute import client as osc_compute_client
from osc_lib import exceptions
from oslo_serialization import jsonutils
import testtools

from nova_rescue_lm.client import osc_commands
from nova_rescue_lm.client import osc_plugin

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))


class PluginTest(testtools.TestCase):

    def _entry_points(self):
        parser = configparser.ConfigParser()
        parser.read(os.path.join(REPO_ROOT, 'setup.cfg'))
        return {group: dict(line.split(' = ') for line in
                            parser.get('entry_points', group).split('\n')
                            if line)
                for group in ('openstack.cli.extension',
                              'openstack.rescue_lm.v1')}

    def test_registered_as_osc_expects(self):
        eps = self._entry_points()
        self.assertEqual({'rescue_lm': 'nova_rescue_lm.client.osc_plugin'},
                         eps['openstack.cli.extension'])
        # OSC's command group: openstack.<API_NAME>.v<major of default>.
        group = 'openstack.%s.v%s' % (
            osc_plugin.API_NAME,
            osc_plugin.DEFAULT_API_VERSION.split('.')[0])
        self.assertIn(group, eps)
        self.assertEqual(
            {'rescued_server_migrate': 'nova_rescue_lm.client.osc_commands:'
                                       'MigrateRescuedServer'}, eps[group])
        self.assertIn(osc_plugin.DEFAULT_API_VERSION,
                      osc_plugin.API_VERSIONS)
        self.assertTrue(osc_plugin.API_VERSION_OPTION.isidentifier())

    def test_adds_no_option_and_reuses_the_compute_client(self):
        parser = object()
        self.assertIs(parser, osc_plugin.build_option_parser(parser))
        instance = types.SimpleNamespace(compute=object())
        self.assertIs(instance.compute, osc_plugin.make_client(instance))
        self.assertTrue(osc_plugin.check_api_version('1'))


class Response:

    def __init__(self, status, body=None, headers=None):
        self.status_code = status
        self._body = body
        self.headers = headers or {}
        self.text = jsonutils.dumps(body)

    def json(self):
        return self._body


class FakeCompute:
    """openstacksdk's compute proxy, as far as the command uses it."""

    def __init__(self, status='RESCUE', vm_state='rescued', host='src',
                 max_version=(2, 105), post=202, failed=False):
        self.server = types.SimpleNamespace(
            id='sid', name='web', status=status, vm_state=vm_state,
            task_state=None, compute_host=host)
        self.max_version = max_version
        self.post = post
        self.failed = failed
        self.requests = []

    def find_server(self, name_or_id, ignore_missing=True):
        assert ignore_missing is False
        return self.server

    def get_endpoint_data(self):
        return types.SimpleNamespace(max_microversion=self.max_version,
                                     url='http://compute/v2.1')

    def request(self, url, method, raise_exc=True, microversion=None,
                json=None):
        self.requests.append((method, url, microversion, json))
        if method == 'POST':
            if self.post != 202:
                return Response(self.post, {'conflictingRequest': {
                    'message': 'nova says no'}})
            return Response(202, None, {'x-openstack-request-id': 'req-1'})
        if url == '/servers/sid':
            return Response(200, {'server': {'status': 'RESCUE',
                                             'OS-EXT-STS:task_state': None}})
        if url == '/servers/sid/os-instance-actions':
            return Response(200, {'instanceActions': [{
                'action': 'live-migration', 'request_id': 'req-1',
                'message': 'Error' if self.failed else None}]})
        return Response(403, {'forbidden': {'message': 'admin only'}})


class MigrateRescuedServerTest(testtools.TestCase):

    def _run(self, compute, *argv):
        app = types.SimpleNamespace(
            client_manager=types.SimpleNamespace(compute=compute),
            stdout=io.StringIO())
        cmd = osc_commands.MigrateRescuedServer(app, None)
        cmd.poll_interval = 0
        parsed = cmd.get_parser('openstack rescued server migrate') \
            .parse_args(list(argv))
        cmd.take_action(parsed)
        return app.stdout.getvalue()

    def _posts(self, compute):
        return [r for r in compute.requests if r[0] == 'POST']

    def test_posts_os_migrate_live_at_2_105(self):
        for argv, body in (
                ((), {'host': None, 'block_migration': 'auto'}),
                (('--host', 'dest', '--block-migration'),
                 {'host': 'dest', 'block_migration': True}),
                (('--shared-migration',),
                 {'host': None, 'block_migration': False})):
            compute = FakeCompute()
            self.assertEqual('', self._run(compute, 'web', *argv))
            self.assertEqual(
                [('POST', '/servers/sid/action', '2.105',
                  {'os-migrateLive': body})], self._posts(compute))

    def test_api_without_the_package(self):
        compute = FakeCompute(max_version=(2, 104))
        error = self.assertRaises(exceptions.CommandError, self._run,
                                  compute, 'web')
        self.assertIn('offers microversions up to 2.104, not 2.105: '
                      'nova-rescue-lm is not enabled', str(error))
        self.assertEqual([], self._posts(compute))

    def test_server_not_rescued(self):
        compute = FakeCompute(status='ACTIVE', vm_state='active')
        error = self.assertRaises(exceptions.CommandError, self._run,
                                  compute, 'web')
        self.assertIn('Server sid is ACTIVE, not RESCUE', str(error))
        self.assertEqual([], self._posts(compute))

    def test_refused(self):
        compute = FakeCompute(post=409)
        error = self.assertRaises(exceptions.CommandError, self._run,
                                  compute, 'web')
        self.assertEqual('Cannot live-migrate server sid: nova says no',
                         str(error))

    def test_wait_without_hosts(self):
        """A project manager sees no hosts: the instance action tells."""
        compute = FakeCompute(host=None)
        out = self._run(compute, '--wait', 'web')
        self.assertIn('Complete: server sid moved to a host you are not '
                      'allowed to see and is RESCUE.', out)
        compute = FakeCompute(host=None, failed=True)
        error = self.assertRaises(exceptions.CommandError, self._run,
                                  compute, '--wait', 'web')
        self.assertIn('Live migration of server sid failed: ', str(error))


class ServerEvacuateTest(testtools.TestCase):
    """Why ``openstack server evacuate`` needs no command of the plugin.

    OSC's own command calls openstacksdk's ``Server.evacuate``, which sends
    the microversion the session was given (``--os-compute-api-version``),
    not one of its own, and OSC's compute plugin accepts any version
    (openstacksdk checks it against the API's version document). So
    ``--os-compute-api-version 2.106`` reaches nova as is, with the body
    of 2.68 and later: an optional host, no force, no onSharedStorage.
    ``server migrate --live-migration`` pins its microversion instead,
    hence ``rescued server migrate``.
    """

    def _session(self, microversion):
        session = mock.Mock(default_microversion=microversion)
        session.post.return_value = mock.Mock(status_code=200, headers={})
        return session

    def test_evacuate_sends_the_version_asked_for(self):
        for kwargs, body in (({}, {}), ({'host': 'dest'}, {'host': 'dest'})):
            session = self._session('2.106')
            sdk_server.Server(id='sid').evacuate(session, **kwargs)
            session.post.assert_called_once_with(
                'servers/sid/action', json={'evacuate': body},
                headers={'Accept': ''}, microversion='2.106')

    def test_osc_accepts_any_compute_version(self):
        self.assertTrue(osc_compute_client.check_api_version('2.106'))

    def test_live_migration_is_pinned(self):
        session = self._session('2.106')
        session.get_endpoint_data.return_value = mock.Mock(
            min_microversion='2.1', max_microversion='2.106')
        with mock.patch('openstack.utils.supports_microversion',
                        return_value=True):
            sdk_server.Server(id='sid').live_migrate(
                session, host=None, force=False, block_migration='auto')
        self.assertEqual('2.30',
                         session.post.call_args.kwargs['microversion'])
