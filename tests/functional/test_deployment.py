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

"""What a deployer relies on: the install layout, and a nova-api that loads."""

import configparser
from importlib import metadata
import os
import subprocess
import sys
from unittest import mock

import fixtures
from oslo_serialization import jsonutils

import webob.dec  # noqa: F401 (nova.api.wsgi needs it loaded)

from nova.api.openstack import api_version_request
from nova.api import wsgi as nova_wsgi
from nova import test

from nova_rescue_lm.cmd import status
from tests.functional import base
from tests.unit import fakes


class TestInstalledDistribution(test.NoDBTestCase):

    def test_installs_nothing_of_nova_but_the_shim(self):
        files = [str(f) for f in metadata.files('nova-rescue-lm')]
        nova_files = [f for f in files if f.startswith('nova/')]
        self.assertTrue(nova_files, 'the driver shim is not installed')
        self.assertEqual(
            [], [f for f in nova_files
                 if not f.startswith('nova/virt/rescue_lm/')])
        self.assertNotIn('nova/__init__.py', files)
        self.assertNotIn('nova/virt/__init__.py', files)

    def test_shim_loads_the_package_driver(self):
        from nova.virt.rescue_lm import libvirt as shim
        from nova_rescue_lm.virt.libvirt import driver
        self.assertIs(driver.LibvirtDriver, shim.LibvirtDriver)


class TestNeverDown(test.NoDBTestCase):
    """nova-api loads whatever nova it finds; the package only steps back."""

    def setUp(self):
        super().setUp()
        self.useFixture(fakes.MicroversionState())

    def _load(self):
        self.flags(api_paste_config=base.PASTE_INI, group='wsgi')
        return nova_wsgi.Loader().load_app('osapi_compute')

    def test_loads_on_a_nova_with_another_maximum(self):
        """As nova 35 would be: its maximum is left alone."""
        api_version_request._MAX_API_VERSION = '2.110'
        self.assertIsNotNone(self._load())
        self.assertEqual('2.110', api_version_request._MAX_API_VERSION)
        self.assertIn('the maximum API microversion is 2.110 (expected '
                      '2.104)', self.stdlog.logger.output)

    def test_loads_whatever_the_version_string(self):
        real_version = metadata.version

        def version(name):
            return '35.0.0' if name == 'nova' else real_version(name)

        with mock.patch('importlib.metadata.version', side_effect=version):
            self.assertIsNotNone(self._load())
        # the version string decides nothing: the shape is nova 34's
        self.assertEqual('2.106', api_version_request._MAX_API_VERSION)

    def test_paste_file_names_only_package_factories(self):
        with open(base.PASTE_INI) as f:
            text = f.read()
        for factory in ('nova_rescue_lm.api:APIRouterV21.factory',
                        'nova_rescue_lm.api:Versions.factory',
                        'nova_rescue_lm.api:VersionsV2.factory'):
            self.assertIn(factory, text)
        self.assertNotIn('nova.api.openstack.compute:APIRouterV21', text)
        self.assertTrue(os.path.isabs(base.PASTE_INI))


#: What tests/functional/test_deployment.py runs in a child process, as
#: uWSGI runs nova-api: nova.wsgi.osapi_compute builds the application from
#: OS_NOVA_CONFIG_DIR and OS_NOVA_CONFIG_FILES.
PROBE = '''
import json
import webob
from nova.wsgi import osapi_compute
app = osapi_compute.application
doc = webob.Request.blank('/v2.1').get_response(app)
req = webob.Request.blank('/v2.1/')
req.headers['X-Auth-Token'] = 'admin:admin'
req.headers['OpenStack-API-Version'] = 'compute 2.105'
print('PROBE ' + json.dumps({
    'version': json.loads(doc.body)['version']['version'],
    'status_at_2_105': req.get_response(app).status_int}))
'''


class TestNovaApiAsDeployed(test.NoDBTestCase):
    """nova-api started the way uWSGI (or mod_wsgi) starts it."""

    def setUp(self):
        super().setUp()
        self.etc = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(self.etc, 'nova.conf'), 'w') as f:
            f.write(NOVA_CONF % {'dir': self.etc})
        for db in ('api_db', 'db'):
            self._run([os.path.join(os.path.dirname(sys.executable),
                                    'nova-manage'),
                       '--config-file', os.path.join(self.etc, 'nova.conf'),
                       db, 'sync'])

    def _run(self, cmd, env=None):
        done = subprocess.run(cmd, capture_output=True, text=True,
                              env=dict(os.environ, **(env or {})),
                              timeout=300)
        self.assertEqual(0, done.returncode, done.stderr[-2000:])
        return done.stdout

    def _install_paste(self, name, factories):
        """nova's own api-paste.ini with FACTORIES set, as the docs say."""
        parser = configparser.RawConfigParser()
        parser.read(base.STOCK_PASTE_INI)
        for section, factory in factories.items():
            parser.set(section, 'paste.app_factory', factory)
        with open(os.path.join(self.etc, name), 'w') as f:
            parser.write(f)

    def _start(self, files=None):
        env = {'OS_NOVA_CONFIG_DIR': self.etc}
        if files:
            env['OS_NOVA_CONFIG_FILES'] = files
        out = self._run([sys.executable, '-c', PROBE], env=env)
        return jsonutils.loads(out.split('PROBE ', 1)[1])

    def test_documented_paste_change_offers_2_106(self):
        self._install_paste('api-paste.ini', status.PASTE_FACTORIES)
        self.assertEqual({'version': '2.106', 'status_at_2_105': 200},
                         self._start())

    def test_another_paste_file_named_in_the_environment(self):
        self._install_paste('api-paste.ini', {})
        self._install_paste('rescue-lm-paste.ini', status.PASTE_FACTORIES)
        self.assertEqual({'version': '2.104', 'status_at_2_105': 406},
                         self._start())
        self.assertEqual({'version': '2.106', 'status_at_2_105': 200},
                         self._start('rescue-lm-paste.ini;nova.conf'))

    def test_api_paste_config_option_changes_nothing(self):
        """What the docs once said, and nova-api ignores."""
        self._install_paste('api-paste.ini', {})
        with open(os.path.join(self.etc, 'nova.conf'), 'a') as f:
            f.write('[wsgi]\napi_paste_config = %s\n' % base.PASTE_INI)
        self.assertEqual({'version': '2.104', 'status_at_2_105': 406},
                         self._start())


NOVA_CONF = '''[DEFAULT]
host = api-node
[api]
auth_strategy = noauth2
[database]
connection = sqlite:///%(dir)s/nova.sqlite
[api_database]
connection = sqlite:///%(dir)s/nova_api.sqlite
'''
