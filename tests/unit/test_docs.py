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

"""What the docs tell deployers to do must work on nova 34."""

import glob
import os
import re

import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _doc_files():
    return [os.path.join(REPO, 'README.rst')] + sorted(glob.glob(
        os.path.join(REPO, 'doc', 'source', '**', '*.rst'), recursive=True))


class ApiPasteConfigTest(testtools.TestCase):
    """nova-api (nova.wsgi.osapi_compute) ignores [wsgi] api_paste_config;
    only OS_NOVA_CONFIG_DIR/OS_NOVA_CONFIG_FILES choose its paste file.
    """

    def test_no_doc_sets_the_option(self):
        setting = re.compile(r'^\s*api_paste_config\s*=')
        found = ['%s:%d' % (os.path.relpath(path, REPO), n)
                 for path in _doc_files()
                 for n, line in enumerate(open(path), 1)
                 if setting.search(line)]
        self.assertEqual([], found)

    def test_upgrade_check_does_not_read_the_option(self):
        with open(os.path.join(REPO, 'nova_rescue_lm', 'cmd',
                               'status.py')) as f:
            self.assertNotIn('CONF.wsgi.api_paste_config', f.read())
