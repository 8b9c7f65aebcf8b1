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

"""The README's main job, ``tox -e demo``, as a user runs it.

``tools/demo.py`` runs nova's services in its own process; it is started
here the way tox starts it (in the concurrency mode under test), and must
pass every step.
"""

import os
import subprocess
import sys

import testtools

from tests.functional import base


class TestDemo(testtools.TestCase):

    def test_the_demonstration_passes(self):
        done = subprocess.run(
            [sys.executable, os.path.join(base.REPO_ROOT, 'tools',
                                          'demo.py')],
            capture_output=True, text=True, cwd=base.REPO_ROOT,
            timeout=600)
        self.assertEqual(0, done.returncode, done.stdout + done.stderr)
        self.assertIn('DEMO PASSED', done.stdout)
        self.assertIn('max microversion 2.106', done.stdout)
        self.assertIn('RESCUE on compute-b', done.stdout)
