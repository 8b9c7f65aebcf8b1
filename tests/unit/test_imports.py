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

"""Every module imports, and the layers import only downwards.

The drain library (``nova_rescue_lm.drain``) imports neither the commands
(``nova_rescue_lm.cmd``) nor the client plugins (``nova_rescue_lm.client``),
nor nova; the commands and the client plugins both use the library and never
each other. Each module is imported in a fresh interpreter (``python -c``),
from the source tree, so that what another test imported first cannot hide
an import.
"""

import os
import pkgutil
import subprocess
import sys

from oslo_serialization import jsonutils
import testtools

import nova_rescue_lm

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

#: Imports the modules named on the command line; prints what got loaded.
PROBE = '''
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules
                        if m == 'nova' or m.startswith('nova.') or
                        m.startswith('nova_rescue_lm'))))
'''

#: package -> the packages importing any of its modules must not load.
FORBIDDEN = {
    'nova_rescue_lm.drain': ('nova_rescue_lm.cmd', 'nova_rescue_lm.client',
                             'nova'),
    'nova_rescue_lm.cmd': ('nova_rescue_lm.client',),
    'nova_rescue_lm.client': ('nova_rescue_lm.cmd',),
}


def modules(prefix='nova_rescue_lm'):
    """Every module of the package under ``prefix``, the package included."""
    names = [nova_rescue_lm.__name__] + [
        info.name for info in pkgutil.walk_packages(
            nova_rescue_lm.__path__, nova_rescue_lm.__name__ + '.')]
    return [name for name in names
            if name == prefix or name.startswith(prefix + '.')]


def _within(name, package):
    return name == package or name.startswith(package + '.')


class ImportTest(testtools.TestCase):

    def _import(self, *names):
        """The nova and nova_rescue_lm modules loaded by importing names."""
        proc = subprocess.run(
            [sys.executable, '-c', PROBE] + list(names), cwd=REPO,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, check=False)
        if proc.returncode != 0:
            self.fail('importing %s failed:\n%s' % (
                ', '.join(names), proc.stderr[-3000:]))
        return jsonutils.loads(proc.stdout.strip().splitlines()[-1])

    def test_every_module_imports(self):
        names = modules()
        self.assertIn('nova_rescue_lm.drain.planning', names)
        loaded = self._import(*names)
        self.assertEqual([], sorted(set(names) - set(loaded)))

    def test_no_cycle_between_cmd_and_client(self):
        checked = 0
        for package, forbidden in FORBIDDEN.items():
            for name in modules(package):
                loaded = self._import(name)
                self.assertIn(name, loaded)
                wrong = [m for m in loaded
                         if any(_within(m, f) for f in forbidden)]
                self.assertEqual([], wrong, 'importing %s' % name)
                checked += 1
        # drain's seven modules, cmd's three, client's four at least
        self.assertGreaterEqual(checked, 14)
