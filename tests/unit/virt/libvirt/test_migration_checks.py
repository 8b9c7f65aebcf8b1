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

"""What is refused, and the capability on computes where nothing can work."""

from unittest import mock

import fixtures
from nova.compute import task_states
from nova import context as nova_context
from nova import exception
from nova import objects
from nova import test
from nova.tests import fixtures as nova_fixtures
from nova.virt import fake
from nova.virt.libvirt import driver as nova_driver

from nova_rescue_lm.virt.libvirt import driver
from nova_rescue_lm.virt.libvirt import migration_checks
from tests.unit import fakes

CAPABILITY = 'supports_live_migrate_rescued'


def migrate_data(block_migration, image_type='qcow2', shared_path=False):
    data = objects.LibvirtLiveMigrateData(
        block_migration=block_migration, is_shared_instance_path=shared_path,
        is_shared_block_storage=False)
    if image_type:
        data.image_type = image_type
    return data


class RefuseUnsafeTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.flags(images_type='qcow2', virt_type='kvm', group='libvirt')
        self.instance = fakes.instance(nova_context.get_admin_context())

    def _refused(self, data):
        e = self.assertRaises(exception.MigrationPreCheckError,
                              migration_checks.refuse_unsafe,
                              self.instance, data)
        self.assertIn(self.instance.uuid, str(e))
        self.assertIn('unrescue the server and migrate it then', str(e))
        return str(e)

    def test_file_backends_block_migrate(self):
        for images_type in ('qcow2', 'flat', 'raw', 'default'):
            self.flags(images_type=images_type, group='libvirt')
            migration_checks.refuse_unsafe(
                self.instance, migrate_data(True, images_type))
        migration_checks.refuse_unsafe(self.instance,
                                       migrate_data(True, None))

    def test_shared_storage_moves(self):
        migration_checks.refuse_unsafe(
            self.instance, migrate_data(False, shared_path=True))
        self.flags(images_type='rbd', group='libvirt')
        migration_checks.refuse_unsafe(self.instance,
                                       migrate_data(False, 'rbd'))

    def test_lvm_on_either_side_refused_even_without_block_migration(self):
        self.assertIn('destination host stores disks in LVM',
                      self._refused(migrate_data(True, 'lvm')))
        self.flags(images_type='lvm', group='libvirt')
        self.assertIn('source host stores disks in LVM',
                      self._refused(migrate_data(False, 'lvm',
                                                 shared_path=True)))

    def test_tunnelled_block_migration_refused(self):
        self.flags(live_migration_tunnelled=True, group='libvirt')
        self.assertIn('tunnelled', self._refused(migrate_data(True)))
        migration_checks.refuse_unsafe(
            self.instance, migrate_data(False, shared_path=True))

    def test_other_backends_and_hypervisors_refused_for_block(self):
        self.assertIn('rbd image backend on the destination',
                      self._refused(migrate_data(True, 'rbd')))
        self.flags(images_type='ploop', group='libvirt')
        self.assertIn('ploop image backend on the source',
                      self._refused(migrate_data(True, 'qcow2')))
        self.flags(images_type='qcow2', virt_type='parallels',
                   group='libvirt')
        self.assertIn('kvm or qemu', self._refused(migrate_data(True)))

    def test_host_refusal(self):
        self.assertIsNone(migration_checks.host_refusal())
        self.flags(live_migration_tunnelled=True, group='libvirt')
        self.assertIn('live_migration_tunnelled',
                      migration_checks.host_refusal())
        self.flags(images_type='lvm', group='libvirt')
        self.assertIn('images_type = lvm', migration_checks.host_refusal())


class DriverTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.flags(sysinfo_serial='none', group='libvirt')
        self.flags(instances_path=self.useFixture(fixtures.TempDir()).path)
        self.useFixture(nova_fixtures.LibvirtFixture())
        self.useFixture(nova_fixtures.CGroupsFixture())
        self.context = nova_context.get_admin_context()

    def _driver(self):
        return driver.LibvirtDriver(fake.FakeVirtAPI(), read_only=True)

    def test_no_capability_on_lvm_computes(self):
        self.flags(images_type='lvm', images_volume_group='vg',
                   group='libvirt')
        drvr = self._driver()
        self.assertIs(False, drvr.capabilities[CAPABILITY])
        self.assertIs(False, drvr.capabilities_as_traits()[fakes.TRAIT])

    def test_no_capability_with_tunnelled_migration(self):
        self.flags(live_migration_tunnelled=True, group='libvirt')
        self.assertIs(False, self._driver().capabilities[CAPABILITY])

    def test_no_capability_when_migrations_may_switch_to_post_copy(self):
        self.flags(live_migration_permit_post_copy=True, group='libvirt')
        # nova never switches with the timeout action abort
        self.assertIs(True, self._driver().capabilities[CAPABILITY])
        self.flags(live_migration_timeout_action='force_complete',
                   group='libvirt')
        self.assertIs(False, self._driver().capabilities[CAPABILITY])

    def test_option_still_decides_otherwise(self):
        self.assertIs(True, self._driver().capabilities[CAPABILITY])
        self.flags(live_migrate_rescued=False, group='rescue_lm')
        self.assertIs(False, self._driver().capabilities[CAPABILITY])

    @mock.patch('nova_rescue_lm.virt.destination.refuse_unproven')
    def test_source_pre_check_refuses_rescued_lvm(self, proof):
        instance = fakes.instance(self.context)
        data = migrate_data(True, 'lvm')
        with mock.patch.object(nova_driver.LibvirtDriver,
                               'check_can_live_migrate_source',
                               return_value=data):
            self.assertRaises(
                exception.MigrationPreCheckError,
                self._driver().check_can_live_migrate_source,
                self.context, instance, data)
            proof.assert_called_once_with(self.context, instance, mock.ANY,
                                          True)
            instance.vm_state = 'active'
            self.assertIs(data, self._driver().check_can_live_migrate_source(
                self.context, instance, data))
        proof.assert_called_once()

    @mock.patch.object(nova_driver.LibvirtDriver,
                       '_fetch_instance_kernel_ramdisk')
    @mock.patch('nova_rescue_lm.virt.libvirt.rescue_disks.'
                'fetch_rescue_kernel_ramdisk')
    def test_rescue_kernel_fetched_from_the_source_for_rbd(
            self, fetch, stock):
        """RBD without a shared instance path: nova passes no host."""
        drvr = self._driver()
        instance = fakes.instance(self.context,
                                  task_state=task_states.MIGRATING)
        drvr._fetch_instance_kernel_ramdisk(self.context, instance)
        stock.assert_called_once_with(self.context, instance,
                                      fallback_from_host=None)
        fetch.assert_called_once_with(self.context, instance,
                                      fakes.SOURCE_HOST,
                                      fetch_image=drvr._try_fetch_image)
        fetch.reset_mock()
        instance.task_state = task_states.UNRESCUING
        drvr._fetch_instance_kernel_ramdisk(self.context, instance)
        fetch.assert_not_called()
