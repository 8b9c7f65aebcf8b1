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

"""Nothing of a rescue remains on the host after unrescue."""

import os
from unittest import mock

import fixtures
from nova import context as nova_context
from nova import test
from oslo_utils.fixture import uuidsentinel as uuids

from nova_rescue_lm.virt.libvirt import artifacts
from tests.unit import fakes


class InstanceDirTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.instances_path = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=self.instances_path)
        self.instance = fakes.instance(nova_context.get_admin_context())
        self.instance_dir = os.path.join(self.instances_path,
                                         self.instance.uuid)
        os.makedirs(self.instance_dir)

    def _left(self):
        return sorted(os.listdir(self.instance_dir))

    def test_removes_unrescue_xml(self):
        fakes.make_files(self.instance_dir, ['unrescue.xml', 'disk'])
        artifacts.remove_unrescue_xml(self.instance)
        self.assertEqual(['disk'], self._left())

    def test_missing_unrescue_xml_is_fine(self):
        fakes.make_files(self.instance_dir, ['disk'])
        artifacts.remove_unrescue_xml(self.instance)
        self.assertEqual(['disk'], self._left())

    def test_removes_rescue_files_and_directories_only(self):
        fakes.make_files(self.instance_dir, [
            'disk.rescue', 'kernel.rescue', 'ramdisk.rescue',
            'disk.config.rescue', 'vtpm.rescue/',
            'disk', 'disk.config', 'disk.eph0', 'disk.swap', 'kernel',
            'console.log', 'disk.info', 'rescue', 'disk.rescue.bak',
            'keep/'])
        artifacts.remove_rescue_files(self.instance)
        self.assertEqual(['console.log', 'disk', 'disk.config', 'disk.eph0',
                          'disk.info', 'disk.rescue.bak', 'disk.swap',
                          'keep', 'kernel', 'rescue'], self._left())

    def test_symlinked_rescue_directory_keeps_its_target(self):
        target = os.path.join(self.instances_path, 'elsewhere')
        fakes.make_files(self.instances_path, ['elsewhere/'])
        os.symlink(target, os.path.join(self.instance_dir, 'dir.rescue'))
        artifacts.remove_rescue_files(self.instance)
        self.assertEqual([], self._left())
        self.assertEqual(['content'], os.listdir(target))

    def test_other_instances_are_untouched(self):
        other = os.path.join(self.instances_path, uuids.other)
        fakes.make_files(self.instances_path, [uuids.other + '/'])
        fakes.make_files(other, ['disk.rescue', 'unrescue.xml'])
        artifacts.remove_all(self.instance, mock.Mock())
        self.assertEqual(['content', 'disk.rescue', 'unrescue.xml'],
                         sorted(os.listdir(other)))


class RescueVolumesTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.instance = fakes.instance(nova_context.get_admin_context())
        self.remove_lvs = self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.storage.lvm.remove_volumes')).mock
        self.lvm_disks = mock.Mock(return_value=[
            '/dev/vg/%s_disk' % self.instance.uuid,
            '/dev/vg/%s_disk.rescue' % self.instance.uuid,
            '/dev/vg/%s_disk.local' % self.instance.uuid,
            '/dev/vg/%s_disk.config.rescue' % self.instance.uuid,
        ])

    def test_lvm_removes_only_rescue_volumes(self):
        self.flags(images_type='lvm', group='libvirt')
        artifacts.remove_rescue_volumes(self.instance, self.lvm_disks)
        self.lvm_disks.assert_called_once_with(self.instance)
        self.remove_lvs.assert_called_once_with([
            '/dev/vg/%s_disk.rescue' % self.instance.uuid,
            '/dev/vg/%s_disk.config.rescue' % self.instance.uuid])

    def test_file_backed_images_touch_no_volumes(self):
        for images_type in ('qcow2', 'flat', 'raw', 'default'):
            self.flags(images_type=images_type, group='libvirt')
            artifacts.remove_rescue_volumes(self.instance, self.lvm_disks)
        self.remove_lvs.assert_not_called()
        self.lvm_disks.assert_not_called()

    def test_rbd_removes_only_this_instance_s_rescue_images(self):
        self.flags(images_type='rbd', group='libvirt')
        names = [uuids.other + '_disk', uuids.other + '_disk.rescue',
                 self.instance.uuid + '_disk',
                 self.instance.uuid + '_disk.local',
                 self.instance.uuid + '_disk.rescue',
                 self.instance.uuid + '_disk.config.rescue']
        prefix = 'nova.storage.rbd_utils.'
        for name in ('rbd', 'rados'):
            self.useFixture(fixtures.MockPatch(prefix + name))
        rbd = self.useFixture(fixtures.MockPatch(prefix + 'RbdProxy')).mock
        rbd.return_value.list.return_value = names
        self.useFixture(fixtures.MockPatch(
            prefix + 'RBDDriver._connect_to_rados',
            return_value=(mock.Mock(), mock.Mock())))
        self.useFixture(fixtures.MockPatch(
            prefix + 'RBDDriver._disconnect_from_rados'))
        destroy = self.useFixture(fixtures.MockPatch(
            prefix + 'RBDDriver._destroy_volume')).mock
        artifacts.remove_rescue_volumes(self.instance, self.lvm_disks)
        self.assertEqual(
            [self.instance.uuid + '_disk.rescue',
             self.instance.uuid + '_disk.config.rescue'],
            [c.args[1] for c in destroy.call_args_list])
        self.remove_lvs.assert_not_called()


class DroppingNvramTest(test.NoDBTestCase):

    def test_named_for_this_instance_within_the_block_only(self):
        instance = fakes.instance(nova_context.get_admin_context())
        other = fakes.instance(nova_context.get_admin_context(),
                               uuid=uuids.other)
        self.assertIsNone(artifacts.nvram_to_drop(instance))
        with artifacts.dropping_nvram(instance, '/nvram/i_VARS.fd'):
            self.assertEqual('/nvram/i_VARS.fd',
                             artifacts.nvram_to_drop(instance))
            self.assertIsNone(artifacts.nvram_to_drop(other))
        self.assertIsNone(artifacts.nvram_to_drop(instance))

    def test_nothing_to_drop(self):
        instance = fakes.instance(nova_context.get_admin_context())
        with artifacts.dropping_nvram(instance, None):
            self.assertIsNone(artifacts.nvram_to_drop(instance))
