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

"""A qcow2 header read without qemu-img says what nova's reader says."""

import os
import subprocess

import fixtures
from nova import test
from nova.virt.libvirt import driver as libvirt_driver

from nova_rescue_lm.virt.libvirt import qcow2_header
from nova_rescue_lm.virt.libvirt import rescue_disks

GiB = 1024 ** 3


def qemu_img(*args):
    subprocess.run(('qemu-img',) + args, check=True, capture_output=True)


def nova_reads(path, driver_format='qcow2'):
    """What nova's own reader (two ``qemu-img info`` runs) gives."""
    config = rescue_disks.synthetic_config([(path, driver_format)])
    return libvirt_driver.LibvirtDriver._get_instance_disk_info_from_config(
        None, config, None)


class DescribeTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.base = os.path.join(self.tmp, 'ephemeral_4_0706d66')
        with open(self.base, 'wb') as f:
            f.truncate(4 * GiB)
            f.write(b'base')

    def path(self, name):
        return os.path.join(self.tmp, name)

    def assertSameAsNova(self, path):
        described = qcow2_header.describe(path)
        self.assertIsNotNone(described)
        self.assertEqual(nova_reads(path), [described])
        return described

    def test_overlay_on_an_absolute_base(self):
        disk = self.path('disk.eph0')
        qemu_img('create', '-f', 'qcow2', '-F', 'raw', '-b', self.base,
                 disk)
        qemu_img('resize', disk, '5G')
        described = self.assertSameAsNova(disk)
        self.assertEqual((5 * GiB, 'ephemeral_4_0706d66'),
                         (described['virt_disk_size'],
                          described['backing_file']))
        self.assertEqual((5 * GiB, self.base), qcow2_header.read(disk))

    def test_relative_base_resolved_against_the_disk(self):
        disk = self.path('disk.local')
        qemu_img('create', '-f', 'qcow2', '-F', 'raw', '-b',
                 os.path.basename(self.base), disk)
        self.assertSameAsNova(disk)
        self.assertEqual(self.base, qcow2_header.read(disk)[1])

    def test_no_base_and_written_data(self):
        disk = self.path('disk.swap')
        qemu_img('create', '-f', 'qcow2', disk, '1G')
        subprocess.run(('qemu-io', '-f', 'qcow2', '-c',
                        'write -P 0x5a 0 4M', disk), check=True,
                       capture_output=True)
        described = self.assertSameAsNova(disk)
        self.assertIsNone(described['backing_file'])
        self.assertGreater(described['disk_size'], 4 * 1024 ** 2)

    def test_version_2(self):
        disk = self.path('disk.eph1')
        qemu_img('create', '-f', 'qcow2', '-o', 'compat=0.10', '-F', 'raw',
                 '-b', self.base, disk)
        self.assertSameAsNova(disk)

    def test_what_it_does_not_vouch_for_is_left_to_nova(self):
        raw = self.path('disk.config')
        with open(raw, 'wb') as f:
            f.write(b'CD001' * 100)
        external = self.path('disk.eph2')
        qemu_img('create', '-f', 'qcow2', '-o',
                 'data_file=%s' % self.path('data'), external, '1G')
        short = self.path('disk.eph3')
        with open(short, 'wb') as f:
            f.write(b'QFI\xfb\x00\x00\x00\x03')
        encrypted = self.path('disk.eph4')
        with open(self.path('disk.eph0'), 'wb') as f:
            pass
        qemu_img('create', '-f', 'qcow2', self.path('plain'), '1G')
        with open(self.path('plain'), 'rb') as f:
            header = bytearray(f.read())
        header[32:36] = (1).to_bytes(4, 'big')  # AES
        with open(encrypted, 'wb') as f:
            f.write(header)
        for path in (raw, external, short, encrypted,
                     self.path('disk.eph0')):
            self.assertIsNone(qcow2_header.describe(path), path)
