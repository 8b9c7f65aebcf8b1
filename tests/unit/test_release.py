"""The package refuses to run against a nova it was not built for."""

from importlib import metadata
from unittest import mock

import testtools

from nova_rescue_lm import exception
from nova_rescue_lm import release


class CheckNovaReleaseTest(testtools.TestCase):

    def _check(self, **version_kwargs):
        with mock.patch('importlib.metadata.version',
                        **version_kwargs) as version:
            try:
                release.check_nova_release()
            finally:
                version.assert_called_once_with('nova')

    def test_accepts_nova_34_0_0(self):
        self._check(return_value='34.0.0')

    def test_refuses_another_release(self):
        for found in ('34.0.1', '34.1.0', '33.0.0', '35.0.0.0rc1'):
            err = self.assertRaises(exception.UnsupportedNovaRelease,
                                    self._check, return_value=found)
            self.assertIn('found nova %s' % found, str(err))
            self.assertIn('built for nova 34.0.0', str(err))

    def test_refuses_when_nova_is_not_installed(self):
        err = self.assertRaises(
            exception.UnsupportedNovaRelease, self._check,
            side_effect=metadata.PackageNotFoundError('nova'))
        self.assertIn('found nova (not installed)', str(err))

    def test_message_tells_how_to_run_without_the_package(self):
        err = self.assertRaises(exception.UnsupportedNovaRelease,
                                self._check, return_value='35.0.0')
        message = str(err)
        self.assertIn('cannot run with the installed nova', message)
        self.assertIn('nova.api.openstack.compute:APIRouterV21', message)
        self.assertIn('api-paste.ini', message)
