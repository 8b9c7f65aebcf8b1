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

"""The nova CLI's start-up hook: version check, fail closed, scope."""

from importlib import metadata
import io
import os
import shutil
import subprocess
import sys
import tempfile
from unittest import mock

import fixtures
import novaclient
from novaclient import api_versions
from novaclient import shell
from requests_mock.contrib import fixture as rm_fixture
import testtools

from nova_rescue_lm.client import novaclient_shell

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
SERVER_ID = '4ad3b4c8-4a5f-4e5e-9a49-6bd1c9f0a3a1'
PTH = os.path.join(REPO_ROOT, 'nova_rescue_lm', 'client',
                   'nova-rescue-lm-novaclient.pth')


class FakeShell:
    """A stand-in for novaclient.shell: its main records the maximum
    microversion it sees instead of running a command.
    """

    def __init__(self):
        self.seen = []
        recorder = self.seen

        class OpenStackComputeShell(shell.OpenStackComputeShell):
            def main(self, argv):
                # novaclient's main starts with this parse, then checks the
                # requested version against novaclient.API_MAX_VERSION.
                self.get_base_parser(argv).parse_known_args(argv)
                recorder.append((list(argv),
                                 novaclient.API_MAX_VERSION.get_string()))
                if 'boom' in argv:
                    raise RuntimeError('boom')
                return 'done'
        self.OpenStackComputeShell = OpenStackComputeShell


class UnsupportedReasonTest(testtools.TestCase):

    def _reason(self, version='18.13.1', module=None):
        with mock.patch('importlib.metadata.version', return_value=version):
            return novaclient_shell.unsupported_reason(module or shell)

    def test_the_tested_novaclient_is_supported(self):
        self.assertEqual('18.13.1', metadata.version('python-novaclient'))
        self.assertIsNone(novaclient_shell.unsupported_reason(shell))
        self.assertIsNone(self._reason('18.0.0'))

    def test_unknown_releases_are_refused(self):
        for version in ('17.7.0', '19.0.0', '20.1.0.dev3'):
            reason = self._reason(version)
            self.assertIn('python-novaclient %s is installed' % version,
                          reason)
            self.assertIn('knows python-novaclient 18.x only', reason)

    def test_not_installed(self):
        with mock.patch('importlib.metadata.version',
                        side_effect=metadata.PackageNotFoundError('x')):
            self.assertIn('not installed',
                          novaclient_shell.unsupported_reason(shell))

    def test_a_novaclient_that_knows_2_105_is_refused(self):
        self.useFixture(fixtures.MonkeyPatch(
            'novaclient.API_MAX_VERSION', api_versions.APIVersion('2.105')))
        self.assertIn('already knows microversion 2.105', self._reason())
        self.useFixture(fixtures.MonkeyPatch(
            'novaclient.API_MAX_VERSION', '2.96'))
        self.assertIn('has no novaclient.API_MAX_VERSION', self._reason())

    def test_a_shell_without_main_is_refused(self):
        module = mock.Mock(spec=['OpenStackComputeShell'])
        module.OpenStackComputeShell = object
        self.assertIn('has no OpenStackComputeShell.main',
                      self._reason(module=module))


class ApplyTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.fake = FakeShell()
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_COMPUTE_API_VERSION'))

    def _main(self, argv):
        return self.fake.OpenStackComputeShell().main(argv)

    def test_raises_the_maximum_only_for_a_2_105_or_2_106_run(self):
        self.assertIsNone(novaclient_shell.apply(self.fake))
        runs = (['--os-compute-api-version', '2.105', 'live-migration', 's'],
                ['--os-compute-api-version=2.105', 'list'],
                ['--os-compute-api-version', '2.106', 'evacuate', 's'],
                ['--os-compute-api-version=2.106', 'host-evacuate', 'h'],
                ['list'],
                ['--os-compute-api-version', '2.latest', 'list'],
                ['--os-compute-api-version', '2.96', 'list'],
                ['--os-compute-api-version', '2.104', 'list'],
                ['--os-compute-api-version', '2.107', 'list'],
                ['--os-compute-api-version', '2.1060', 'list'],
                ['--os-compute-api-version', 'junk', 'list'])
        for argv in runs:
            self.assertEqual('done', self._main(argv))
        self.assertEqual(
            ['2.105', '2.105', '2.106', '2.106', '2.96', '2.96', '2.96',
             '2.96', '2.96', '2.96', '2.96'],
            [version for _argv, version in self.fake.seen])
        self.assertEqual([list(argv) for argv in runs],
                         [argv for argv, _version in self.fake.seen])
        self.assertEqual('2.96', novaclient.API_MAX_VERSION.get_string())

    def test_environment_variable(self):
        novaclient_shell.apply(self.fake)
        for version in ('2.105', '2.106'):
            self.useFixture(fixtures.EnvironmentVariable(
                'OS_COMPUTE_API_VERSION', version))
            self._main(['list'])
            self.assertEqual(version, self.fake.seen[-1][1])

    def test_the_maximum_is_restored_after_an_error(self):
        novaclient_shell.apply(self.fake)
        for version in ('2.105', '2.106'):
            self.assertRaises(RuntimeError, self._main,
                              ['--os-compute-api-version', version, 'boom'])
            self.assertEqual(version, self.fake.seen[-1][1])
            self.assertEqual('2.96', novaclient.API_MAX_VERSION.get_string())

    def test_idempotent(self):
        novaclient_shell.apply(self.fake)
        wrapped = self.fake.OpenStackComputeShell.main
        self.assertIsNone(novaclient_shell.apply(self.fake))
        self.assertIs(wrapped, self.fake.OpenStackComputeShell.main)

    def test_unknown_novaclient_is_left_alone(self):
        original = self.fake.OpenStackComputeShell.main
        with mock.patch('importlib.metadata.version', return_value='19.0.0'):
            reason = novaclient_shell.apply(self.fake)
        self.assertIn('19.0.0', reason)
        self.assertIs(original, self.fake.OpenStackComputeShell.main)
        self._main(['--os-compute-api-version', '2.105', 'list'])
        self.assertEqual('2.96', self.fake.seen[-1][1])

    def test_a_bad_command_line_fails_as_novaclient_fails(self):
        outputs = []
        for patched in (False, True):
            fake = FakeShell()
            if patched:
                novaclient_shell.apply(fake)
            err = io.StringIO()
            with fixtures.MonkeyPatch('sys.stderr', err):
                error = self.assertRaises(
                    SystemExit, fake.OpenStackComputeShell().main,
                    ['--timeout', 'x', 'list'])
            outputs.append((error.code, err.getvalue()))
        self.assertEqual(outputs[0], outputs[1])
        self.assertEqual(2, outputs[1][0])
        self.assertEqual(1, outputs[1][1].count(
            'error: argument --timeout: x must be a float'))


class FailClosedMessageTest(testtools.TestCase):

    def _on_import(self, argv, version='19.0.0', environ=None):
        err = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', err))
        self.useFixture(fixtures.MonkeyPatch('sys.argv', ['nova'] + argv))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_COMPUTE_API_VERSION', environ))
        fake = FakeShell()
        with mock.patch('importlib.metadata.version', return_value=version):
            novaclient_shell.on_shell_import(fake)
        return err.getvalue()

    def test_says_why_when_2_105_is_asked_for(self):
        for argv, environ in (
                (['--os-compute-api-version', '2.105', 'list'], None),
                (['--os-compute-api-version=2.105', 'list'], None),
                (['list'], '2.105')):
            message = self._on_import(argv, environ=environ)
            self.assertEqual(
                'nova-rescue-lm: the nova CLI cannot send microversion 2.105 '
                'here: python-novaclient 19.0.0 is installed; this '
                'nova-rescue-lm knows python-novaclient 18.x only. Use '
                '"openstack rescued server migrate" or nova-rescue-lm-drain '
                'instead.\n', message)

    def test_says_why_when_2_106_is_asked_for(self):
        for argv, environ in (
                (['--os-compute-api-version', '2.106', 'evacuate', 's'],
                 None),
                (['--os-compute-api-version=2.106', 'evacuate', 's'], None),
                (['evacuate', 's'], '2.106')):
            message = self._on_import(argv, environ=environ)
            self.assertEqual(
                'nova-rescue-lm: the nova CLI cannot send microversion 2.106 '
                'here: python-novaclient 19.0.0 is installed; this '
                'nova-rescue-lm knows python-novaclient 18.x only. Use '
                '"openstack --os-compute-api-version 2.106 server evacuate" '
                'or "nova-rescue-lm-drain --evacuate" instead.\n', message)

    def test_silent_otherwise(self):
        self.assertEqual('', self._on_import(['list']))
        self.assertEqual('', self._on_import(
            ['--os-compute-api-version', '2.96', 'list']))
        self.assertEqual('', self._on_import(
            ['--os-compute-api-version', '2.107', 'list']))
        for version in ('2.105', '2.106'):
            self.assertEqual('', self._on_import(
                ['--os-compute-api-version', version, 'list'],
                version='18.13.1'))

    def test_never_raises(self):
        err = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', err))
        self.useFixture(fixtures.MonkeyPatch(
            'sys.argv', ['nova', '--os-compute-api-version', '2.105']))
        with mock.patch.object(novaclient_shell, 'apply',
                               side_effect=ValueError('odd')):
            novaclient_shell.on_shell_import(FakeShell())
        self.assertIn('checking python-novaclient failed (ValueError: odd)',
                      err.getvalue())


class ImportHookTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch('sys.meta_path',
                                             list(sys.meta_path)))

    def _hooks(self):
        return [finder for finder in sys.meta_path
                if isinstance(finder, novaclient_shell.ShellImportHook)]

    def test_installs_one_hook_that_only_waits_for_the_shell(self):
        self.useFixture(fixtures.MonkeyPatch('sys.modules', {
            name: module for name, module in sys.modules.items()
            if name != novaclient_shell.SHELL_MODULE}))
        novaclient_shell.install_import_hook()
        novaclient_shell.install_import_hook()
        self.assertEqual(1, len(self._hooks()))
        self.assertIs(self._hooks()[0], sys.meta_path[0])
        hook = self._hooks()[0]
        self.assertIsNone(hook.find_spec('json', None))
        self.assertEqual(1, len(self._hooks()))

        spec = hook.find_spec(novaclient_shell.SHELL_MODULE,
                              novaclient.__path__)
        self.assertEqual([], self._hooks())  # one shot
        self.assertIsInstance(spec.loader, novaclient_shell._PatchingLoader)
        self.assertTrue(spec.origin.endswith('novaclient/shell.py'))
        self.assertIn('OpenStackComputeShell', spec.loader.get_source(
            novaclient_shell.SHELL_MODULE))

    def test_an_imported_shell_is_patched_at_once(self):
        fake = FakeShell()
        self.useFixture(fixtures.MonkeyPatch('sys.modules', dict(
            sys.modules, **{novaclient_shell.SHELL_MODULE: fake})))
        novaclient_shell.install_import_hook()
        self.assertEqual([], self._hooks())
        self.assertTrue(getattr(fake.OpenStackComputeShell.main,
                                novaclient_shell._PATCHED))


class StartUpTest(testtools.TestCase):
    """The .pth file in a site directory, in a fresh interpreter."""

    def _python(self, code, *argv, program='nova'):
        """Run CODE as a script named PROGRAM (the nova CLI by default)
        in an interpreter whose site directory holds the .pth file.
        """
        site_dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, site_dir)
        shutil.copy(PTH, site_dir)
        env = dict(os.environ, PYTHONPATH=REPO_ROOT,
                   OS_AUTH_URL='http://127.0.0.1:9', OS_PROJECT_ID='p')
        env.pop('OS_COMPUTE_API_VERSION', None)
        script = os.path.join(site_dir, program)
        with open(script, 'w') as f:
            # .pth files are read for site directories, as at start-up
            f.write('import site, sys\nsite.addsitedir(%r)\n' % site_dir +
                    code)
        return subprocess.run(
            [sys.executable, script] + list(argv), env=env,
            capture_output=True, text=True, timeout=120)

    def test_pth_leaves_other_programs_alone(self):
        for program in ('nova-compute', 'nova-api', 'openstack'):
            result = self._python(
                'import nova_rescue_lm.client.novaclient_shell as m\n'
                'print(any(isinstance(f, m.ShellImportHook) '
                'for f in sys.meta_path))\n', program=program)
            self.assertEqual((0, ['False']),
                             (result.returncode, result.stdout.split()),
                             result.stderr)

    def test_pth_patches_novaclient_shell_when_it_is_imported(self):
        result = self._python(
            'from nova_rescue_lm.client import novaclient_shell as m\n'
            'print(any(isinstance(f, m.ShellImportHook) '
            'for f in sys.meta_path))\n'
            'print("novaclient.shell" in sys.modules)\n'
            'from novaclient import shell\n'
            'print(getattr(shell.OpenStackComputeShell.main, m._PATCHED, '
            'False))\n'
            'print(any(isinstance(f, m.ShellImportHook) '
            'for f in sys.meta_path))\n')
        self.assertEqual((0, ['True', 'False', 'True', 'False']),
                         (result.returncode, result.stdout.split()),
                         result.stderr)

    def test_nova_cli_run_asking_for_2_105_passes_the_client_check(self):
        code = ('from novaclient import shell\n'
                'shell.main(sys.argv[1:])\n')
        argv = ['--os-auth-type', 'admin_token', '--os-token', 't',
                '--os-endpoint', 'http://127.0.0.1:9/v2.1', 'list']
        asked = self._python(code, '--os-compute-api-version', '2.105',
                             *argv)
        self.assertEqual(1, asked.returncode)
        self.assertIn('ERROR (ConnectFailure)', asked.stderr)
        self.assertNotIn('valid version range', asked.stderr)
        refused = self._python(code, '--os-compute-api-version', '2.104',
                               *argv)
        self.assertEqual(1, refused.returncode)
        self.assertIn("The valid version range is '2.1' to '2.96'",
                      refused.stderr)

    def test_nova_cli_evacuate_at_2_106_passes_the_client_check(self):
        code = ('from novaclient import shell\n'
                'shell.main(sys.argv[1:])\n')
        argv = ['--os-auth-type', 'admin_token', '--os-token', 't',
                '--os-endpoint', 'http://127.0.0.1:9/v2.1', 'evacuate', 's']
        asked = self._python(code, '--os-compute-api-version', '2.106',
                             *argv)
        self.assertEqual(1, asked.returncode)
        self.assertIn('ERROR (ConnectFailure)', asked.stderr)
        self.assertNotIn('valid version range', asked.stderr)
        refused = self._python(code, '--os-compute-api-version', '2.107',
                               *argv)
        self.assertEqual(1, refused.returncode)
        self.assertIn("The valid version range is '2.1' to '2.96'",
                      refused.stderr)


class EvacuateRequestTest(testtools.TestCase):
    """What the real novaclient shell sends at 2.106, once patched."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch(
            'novaclient.shell.OpenStackComputeShell.main',
            shell.OpenStackComputeShell.main))
        self.assertIsNone(novaclient_shell.apply(shell))
        for name in ('OS_COMPUTE_API_VERSION', 'OS_CLOUD', 'OS_USERNAME',
                     'OS_PASSWORD', 'OS_PROJECT_NAME'):
            self.useFixture(fixtures.EnvironmentVariable(name))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_AUTH_URL', 'http://keystone.invalid/identity'))
        self.useFixture(fixtures.EnvironmentVariable('OS_PROJECT_ID', 'p'))
        self.mock = self.useFixture(rm_fixture.Fixture())
        endpoint = 'http://nova.test/v2.1'
        self.mock.get(endpoint, json={'version': {
            'id': 'v2.1', 'status': 'CURRENT', 'version': '2.106',
            'min_version': '2.1', 'links': [
                {'rel': 'self', 'href': endpoint + '/'}]}})
        server = endpoint + '/servers/' + SERVER_ID
        self.mock.get(server, json={'server': {'id': SERVER_ID,
                                               'name': 'web'}})
        self.posted = self.mock.post(server + '/action', status_code=200,
                                     text='null')
        self.argv = ['--os-auth-type', 'admin_token', '--os-token', 't',
                     '--os-endpoint', endpoint]

    def _nova(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with fixtures.MonkeyPatch('sys.stdout', out), \
                fixtures.MonkeyPatch('sys.stderr', err):
            try:
                code = shell.main(self.argv + list(argv))
            except SystemExit as e:
                code = e.code
        return code or 0, err.getvalue()

    def test_evacuate_sends_the_latest_body_at_2_106(self):
        for argv, body in (((SERVER_ID,), {'evacuate': {}}),
                           ((SERVER_ID, 'dest'),
                            {'evacuate': {'host': 'dest'}})):
            code, err = self._nova('--os-compute-api-version', '2.106',
                                   'evacuate', *argv)
            self.assertEqual(0, code, err)
            request = self.posted.last_request
            self.assertEqual(body, request.json())
            self.assertEqual('compute 2.106',
                             request.headers['OpenStack-API-Version'])
        self.assertEqual('2.96', novaclient.API_MAX_VERSION.get_string())

    def test_no_force_no_shared_storage_at_2_106(self):
        for option in ('--force', '--on-shared-storage'):
            code, err = self._nova('--os-compute-api-version', '2.106',
                                   'evacuate', option, SERVER_ID, 'dest')
            self.assertEqual(2, code)
            self.assertIn('unrecognized arguments: %s' % option, err)
        self.assertFalse(self.posted.called)
