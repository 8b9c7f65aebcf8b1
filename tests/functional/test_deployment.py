"""What a deployer relies on: the install layout, and a nova-api that loads."""

from importlib import metadata
import os
from unittest import mock

import webob.dec  # noqa: F401 (nova.api.wsgi needs it loaded)

from nova.api.openstack import api_version_request
from nova.api import wsgi as nova_wsgi
from nova import test

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
        self.assertEqual('2.105', api_version_request._MAX_API_VERSION)

    def test_paste_file_names_only_package_factories(self):
        with open(base.PASTE_INI) as f:
            text = f.read()
        for factory in ('nova_rescue_lm.api:APIRouterV21.factory',
                        'nova_rescue_lm.api:Versions.factory',
                        'nova_rescue_lm.api:VersionsV2.factory'):
            self.assertIn(factory, text)
        self.assertNotIn('nova.api.openstack.compute:APIRouterV21', text)
        self.assertTrue(os.path.isabs(base.PASTE_INI))
