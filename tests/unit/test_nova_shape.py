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

"""What the package relies on in nova is checked by shape, not by version."""

import ast
import inspect
import os
from unittest import mock

import fixtures
from nova.api.openstack import api_version_request
from nova.compute import manager as compute_manager
from nova import test
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import guest as libvirt_guest

from nova_rescue_lm import nova_shape
from nova_rescue_lm.virt.libvirt import driver
from tests.unit import fakes

LIBVIRT_PACKAGE = os.path.dirname(driver.__file__)


def _private_names_used():
    """Every ``_name`` the libvirt package reads off any object."""
    names = set()
    for filename in os.listdir(LIBVIRT_PACKAGE):
        if not filename.endswith('.py'):
            continue
        with open(os.path.join(LIBVIRT_PACKAGE, filename)) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and
                    node.attr.startswith('_') and
                    not node.attr.startswith('__')):
                names.add(node.attr)
            elif (isinstance(node, ast.FunctionDef) and
                    node.name.startswith('_') and
                    not node.name.startswith('__')):
                names.add(node.name)
    return names


class InstalledNovaTest(test.NoDBTestCase):
    """The recorded shape is the installed nova's (34.0.0 in CI)."""

    def setUp(self):
        super().setUp()
        self.useFixture(fakes.MicroversionState())

    def test_no_differences(self):
        self.assertEqual([], nova_shape.all_differences())
        self.assertEqual([], nova_shape.api_differences())
        self.assertEqual([], nova_shape.libvirt_differences())

    def test_every_nova_method_the_driver_overrides_is_recorded(self):
        ours = {name for name, value in vars(driver.LibvirtDriver).items()
                if callable(value) or isinstance(value, staticmethod)}
        overridden = {name for name in ours
                      if hasattr(libvirt_driver.LibvirtDriver, name)}
        self.assertIn('_live_migration', overridden)  # guards the scan
        self.assertEqual(set(), overridden - set(nova_shape.LIBVIRT_DRIVER))

    def test_every_private_nova_method_the_package_uses_is_recorded(self):
        used = _private_names_used()
        for cls, recorded in (
                (libvirt_driver.LibvirtDriver, nova_shape.LIBVIRT_DRIVER),
                (libvirt_guest.Guest, nova_shape.LIBVIRT_GUEST),
                (compute_manager.ComputeManager,
                 nova_shape.COMPUTE_MANAGER)):
            nova_methods = {name for name in used
                            if callable(getattr(cls, name, None))}
            self.assertEqual(set(), nova_methods - set(recorded), cls)
        self.assertIn('_hard_reboot', used)  # guards the scan

    def test_a_point_release_is_not_refused_by_its_version(self):
        for found in ('34.0.1', '34.1.0', '34.0.1.dev12'):
            with mock.patch('importlib.metadata.version',
                            return_value=found):
                fakes.clear_shape_caches()
                self.assertEqual([], nova_shape.api_differences())
                self.assertEqual([], nova_shape.libvirt_differences())


class ChangedNovaTest(test.NoDBTestCase):
    """A nova whose internals changed switches the feature off, says why,
    and never raises.
    """

    def setUp(self):
        super().setUp()
        self.useFixture(fakes.MicroversionState())

    def test_changed_private_driver_method(self):
        def _hard_reboot(self, context, instance, network_info, share_info,
                         block_device_info=None, accel_info=None,
                         new_argument=None):
            pass
        self.useFixture(fixtures.MockPatchObject(
            libvirt_driver.LibvirtDriver, '_hard_reboot', _hard_reboot))
        found = nova_shape.libvirt_differences()
        self.assertEqual(1, len(found), found)
        self.assertIn('LibvirtDriver._hard_reboot(', found[0])
        self.assertIn('new_argument=None', found[0])
        self.assertIn('live migration and evacuation of rescued servers are '
                      'switched off '
                      'in the libvirt driver', self.stdlog.logger.output)
        self.assertEqual([], nova_shape.api_differences())

    def test_changed_default_of_a_called_method(self):
        def _try_fetch_image(self, context, path, image_id, instance,
                             fallback_from_host=True):
            pass
        self.useFixture(fixtures.MockPatchObject(
            libvirt_driver.LibvirtDriver, '_try_fetch_image',
            _try_fetch_image))
        self.assertIn('fallback_from_host=True',
                      nova_shape.libvirt_differences()[0])

    def test_changed_compute_manager_method(self):
        def _rollback_live_migration(self, context, instance, dest,
                                     migrate_data=None):
            pass
        self.useFixture(fixtures.MockPatchObject(
            compute_manager.ComputeManager, '_rollback_live_migration',
            _rollback_live_migration))
        found = nova_shape.libvirt_differences()
        self.assertEqual(1, len(found), found)
        self.assertIn('ComputeManager._rollback_live_migration(', found[0])

    def test_removed_guest_method(self):
        with mock.patch.object(libvirt_guest.Guest, 'migrate', None):
            del libvirt_guest.Guest.migrate
            found = nova_shape.libvirt_differences()
        self.assertEqual(['Guest.migrate is missing'], found)
        self.assertTrue(inspect.isfunction(libvirt_guest.Guest.migrate))

    def test_another_maximum_microversion(self):
        api_version_request._MAX_API_VERSION = '2.105'
        found = nova_shape.api_differences()
        self.assertEqual(['the maximum API microversion is 2.105 (expected '
                          '2.104)'], found)

    def test_changed_live_migrate_arguments(self):
        stock = nova_shape.LIVE_MIGRATE_STACK
        with mock.patch.object(nova_shape, 'LIVE_MIGRATE_STACK',
                               stock[:3] + (
                                   (stock[3][0], dict(stock[3][1],
                                                      until=62)),) +
                               stock[4:]):
            found = nova_shape.api_differences()
        self.assertEqual(1, len(found))
        self.assertIn("'until': 63", found[0])

    def test_uninspectable_nova_is_a_difference_not_a_crash(self):
        with mock.patch.object(nova_shape, 'signature',
                               side_effect=ValueError('no signature')):
            found = nova_shape.api_differences()
            everything = nova_shape.all_differences()
        self.assertIn('cannot be inspected: ValueError: no signature',
                      found[0])
        self.assertEqual(2, len(everything))
