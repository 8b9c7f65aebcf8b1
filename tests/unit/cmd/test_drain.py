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

"""nova-rescue-lm-drain's command line: options, Ctrl-C, exit codes.

What the command does is :mod:`nova_rescue_lm.drain`'s, tested in
``tests/unit/drain``.
"""

import io
import threading

import fixtures
import testtools

from nova_rescue_lm.cmd import drain
from nova_rescue_lm.drain import compute_api


class InterruptTest(testtools.TestCase):

    def test_interrupt_handler(self):
        stop, out = threading.Event(), io.StringIO()
        handler = drain._interrupt_handler(stop, out)
        handler(2, None)
        self.assertTrue(stop.is_set())
        self.assertIn('no new migrations', out.getvalue())
        self.assertRaises(KeyboardInterrupt, handler, 2, None)


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

    def test_the_drain_runs_with_the_options_given(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova_rescue_lm.cmd.drain.make_adapters',
            lambda args, sdk: ('compute adapter', 'placement adapter')))
        calls = []

        def run(client, host, **kwargs):
            calls.append((client.adapter, host, kwargs))
            return 1, []
        self.useFixture(fixtures.MonkeyPatch('nova_rescue_lm.drain.drain',
                                             run))
        code, out, err = self._main(['src', '--target', 'dest', '--dry-run',
                                     '--block-migration', 'false'])
        self.assertEqual((1, ''), (code, err))
        (adapter, host, kwargs), = calls
        self.assertEqual(('compute adapter', 'src'), (adapter, host))
        self.assertEqual(
            {'target': 'dest', 'max_parallel': 2, 'dry_run': True,
             'timeout': 3600, 'block_migration': False,
             'placement': 'placement adapter', 'evacuate': False},
            {k: v for k, v in kwargs.items() if k not in ('out', 'stop')})

        code, out, err = self._main(['--evacuate', 'src'])
        self.assertEqual((1, ''), (code, err))
        self.assertEqual((True, 'auto'), (calls[-1][2]['evacuate'],
                                          calls[-1][2]['block_migration']))

        def refuse(client, host, **kwargs):
            raise compute_api.DrainError("No compute service on host 'src'")
        self.useFixture(fixtures.MonkeyPatch('nova_rescue_lm.drain.drain',
                                             refuse))
        code, out, err = self._main(['src'])
        self.assertEqual(drain.EXIT_BAD_INPUT, code)
        self.assertEqual("nova-rescue-lm-drain: No compute service on host "
                         "'src'\n", err)

    def test_docs_parser(self):
        parser = drain.docs_parser()
        self.assertEqual('nova-rescue-lm-drain', parser.prog)
        self.assertEqual('h', parser.parse_args(['h']).host)

    def test_options(self):
        for sdk in (None, drain._sdk_config()):
            parser = drain.build_parser(['h'], sdk)
            args = parser.parse_args(['h'])
            self.assertEqual((2, False, None, None),
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
            self.assertFalse(args.evacuate)
            self.assertTrue(parser.parse_args(['h', '--evacuate']).evacuate)
            for bad in (['h', '--max-parallel', '0'],
                        ['h', '--block-migration', 'maybe'], [],
                        ['h', '--evacuate', '--block-migration', 'auto']):
                self.assertRaises(SystemExit, parser.parse_args, bad)
