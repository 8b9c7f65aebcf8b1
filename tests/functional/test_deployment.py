"""What a deployer relies on: the install layout and fail-closed loading."""

from importlib import metadata
import os
from unittest import mock

import webob.dec  # noqa: F401 (nova.api.wsgi needs it loaded)

from nova.api import wsgi as nova_wsgi
from nova import test

from nova_rescue_lm import exception
from tests.functional import base


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


class TestFailClosed(test.NoDBTestCase):
    """nova-api must not start on a nova this package was not built for."""

    def _load(self):
        self.flags(api_paste_config=base.PASTE_INI, group='wsgi')
        return nova_wsgi.Loader().load_app('osapi_compute')

    def test_refuses_another_nova_release(self):
        real_version = metadata.version

        def version(name):
            return '35.0.0' if name == 'nova' else real_version(name)

        with mock.patch('importlib.metadata.version', side_effect=version):
            error = self.assertRaises(Exception, self._load)
        # paste wraps nothing: the deployer sees our message.
        while not isinstance(error, exception.UnsupportedNovaRelease) and \
                error.__cause__ is not None:
            error = error.__cause__
        self.assertIsInstance(error, exception.UnsupportedNovaRelease)
        message = str(error)
        self.assertIn('found nova 35.0.0', message)
        self.assertIn('34.0.0', message)
        self.assertIn('nova.api.openstack.compute:APIRouterV21', message)

    def test_paste_file_names_only_package_factories(self):
        with open(base.PASTE_INI) as f:
            text = f.read()
        for factory in ('nova_rescue_lm.api:APIRouterV21.factory',
                        'nova_rescue_lm.api:Versions.factory',
                        'nova_rescue_lm.api:VersionsV2.factory'):
            self.assertIn(factory, text)
        self.assertNotIn('nova.api.openstack.compute:APIRouterV21', text)
        self.assertTrue(os.path.isabs(base.PASTE_INI))
