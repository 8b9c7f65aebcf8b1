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

"""``nova-rescue-lm-status`` as a command, in a process of its own."""

import os
import shutil
import subprocess
import sys

import fixtures
from nova import test
from oslo_serialization import jsonutils

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
PASTE_INI = os.path.join(REPO, 'etc', 'nova-rescue-lm', 'api-paste.ini')


class StatusCommandTest(test.NoDBTestCase):

    def _run(self, *args, conf=''):
        etc = self.useFixture(fixtures.TempDir()).path
        shutil.copy(PASTE_INI, os.path.join(etc, 'api-paste.ini'))
        nova_conf = os.path.join(etc, 'nova.conf')
        with open(nova_conf, 'w') as f:
            f.write(conf)
        env = dict(os.environ, OS_NOVA_CONFIG_DIR=etc, PYTHONPATH=REPO)
        return subprocess.run(
            [sys.executable, '-c',
             'import sys; from nova_rescue_lm.cmd import status; '
             'sys.exit(status.main())',
             '--config-file', nova_conf] + list(args),
            capture_output=True, text=True, env=env, cwd=REPO, timeout=120)

    def test_json_output_with_no_configuration_at_all(self):
        """No database, no [placement]: every check still answers, as
        JSON when asked, and the exit status is the worst result.
        """
        r = self._run('upgrade', 'check', '--json')
        self.assertEqual(2, r.returncode, r.stdout + r.stderr)
        checks = {c['check']: c for c in
                  jsonutils.loads(r.stdout)['checks']}
        self.assertEqual(
            ['API paste pipeline', 'Compute capability',
             'Evacuation of rescued servers', 'Running API',
             'Stale capability traits', 'nova internals'], sorted(checks))
        self.assertEqual(0, checks['API paste pipeline']['result'])
        self.assertEqual(1, checks['Running API']['result'])
        self.assertIn('no [placement] credentials',
                      checks['Running API']['details'])
        self.assertEqual(2, checks['Compute capability']['result'])
        self.assertIn('The check could not run',
                      checks['Compute capability']['details'])
        self.assertNotIn('Traceback', r.stdout)

    def test_table_output(self):
        r = self._run('upgrade', 'check')
        self.assertEqual(2, r.returncode, r.stdout + r.stderr)
        self.assertIn('| Check: Running API', r.stdout)
        self.assertIn('Result: Warning', r.stdout)
