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

"""Restoring the machine type nova's own rescue overwrote."""

import os
from unittest import mock

import fixtures
from nova import context as nova_context
from nova import test

from nova_rescue_lm.virt.libvirt import machine_type
from tests.unit import fakes

XML = "<domain><os><type arch='x86_64' machine='%s'>hvm</type></os></domain>"


class FamilyTest(test.NoDBTestCase):

    def test_families(self):
        for name, family in (('q35', 'q35'), ('pc-q35-8.2', 'q35'),
                             ('pc', 'pc'), ('pc-i440fx-8.2', 'pc'),
                             ('pc-0.12', 'pc'), ('virt-7.2', 'virt'),
                             ('virt', 'virt'), (None, '')):
            self.assertEqual(family, machine_type.family(name), name)


class RestoreTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.utils.get_instance_path',
            return_value=self.dir))
        self.instance = fakes.instance(nova_context.get_admin_context())
        self.instance.system_metadata = {'image_hw_machine_type': 'pc'}

    def _saved(self, text):
        with open(os.path.join(self.dir, 'unrescue.xml'), 'w') as f:
            f.write(text)

    def test_other_family_restored(self):
        self._saved(XML % 'pc-q35-8.2')
        self.assertTrue(machine_type.restore(self.instance))
        self.assertEqual('pc-q35-8.2',
                         self.instance.system_metadata[machine_type.KEY])

    def test_same_family_kept_as_recorded(self):
        self._saved(XML % 'pc-i440fx-8.2')
        self.assertFalse(machine_type.restore(self.instance))
        self.assertEqual('pc', self.instance.system_metadata[
            machine_type.KEY])

    def test_no_file_or_no_machine_changes_nothing(self):
        self.assertFalse(machine_type.restore(self.instance))
        for text in ('<domain><name>x</name></domain>', 'not xml <',
                     "<domain><os><type>hvm</type></os></domain>"):
            self._saved(text)
            with mock.patch.object(machine_type.LOG, 'info') as info:
                self.assertFalse(machine_type.restore(self.instance))
            info.assert_not_called()
        self.assertEqual('pc', self.instance.system_metadata[
            machine_type.KEY])
