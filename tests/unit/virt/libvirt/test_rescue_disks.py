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

"""Block migration of a rescue domain: source choices, destination placing."""

import hashlib
import os
from unittest import mock

import fixtures
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import test
from nova.virt.libvirt import config as vconfig
from nova.virt.libvirt import utils as libvirt_utils
from oslo_concurrency import processutils
from oslo_utils.fixture import uuidsentinel as uuids

from nova_rescue_lm.virt.libvirt import rescue_disks
from nova_rescue_lm.virt import rescue_record
from tests.unit import fakes
from tests.unit.virt.libvirt import test_sparse_transfer


def sha1(value):
    return hashlib.sha1(value.encode()).hexdigest()


def disk(path, target, device='disk', readonly=False, source_type='file',
         fmt='qcow2'):
    dev = vconfig.LibvirtConfigGuestDisk()
    dev.source_type = source_type
    dev.source_path = path
    dev.target_dev = target
    dev.target_bus = {'h': 'ide', 'f': 'fdc'}.get(target[0], 'virtio')
    dev.source_device = device
    dev.readonly = readonly
    dev.driver_format = fmt
    return dev


def domain(*disks):
    config = vconfig.LibvirtConfigGuest()
    config.virt_type = 'kvm'
    config.name = 'instance-00000001'
    config.uuid = uuids.instance
    config.memory = 1024
    config.vcpus = 1
    for dev in disks:
        config.add_device(dev)
    return config


LEGACY = domain(disk('/i/disk.rescue', 'vda'), disk('/i/disk', 'vdb'),
                disk('/i/disk.config.rescue', 'hda', device='cdrom',
                     fmt='raw'))
STABLE = domain(disk('/i/disk', 'vda'), disk('/i/disk.eph0', 'vdb'),
                disk('/i/disk.config', 'hda', device='cdrom', fmt='raw'),
                disk('/i/disk.rescue', 'vdc'))


class FakeGuest(object):

    def __init__(self, config):
        self.config = config

    def get_all_disks(self):
        # As nova parses it back: the device attribute is lost, <readonly/>
        # is kept (libvirt adds it to every cdrom).
        found = []
        for dev in self.config.devices:
            parsed = disk(dev.source_path, dev.target_dev,
                          readonly=dev.readonly or
                          dev.source_device == 'cdrom',
                          source_type=dev.source_type)
            found.append(parsed)
        return found


class DomainTest(test.NoDBTestCase):

    def test_legacy_and_stable_domains(self):
        self.assertTrue(rescue_disks.is_legacy_domain(LEGACY))
        self.assertFalse(rescue_disks.is_legacy_domain(STABLE))
        self.assertFalse(rescue_disks.is_legacy_domain(domain()))

    def test_legacy_rbd_domain(self):
        rbd = disk(None, 'vda', source_type='network')
        rbd.source_name = 'vms/%s_disk.rescue' % uuids.instance
        self.assertTrue(rescue_disks.is_legacy_domain(domain(rbd)))

    def test_read_only_disks_from_the_xml(self):
        xml = LEGACY.to_xml()
        self.assertEqual({'hda': '/i/disk.config.rescue'},
                         rescue_disks.read_only_disks(xml))
        floppy = domain(disk('/i/disk.rescue', 'fda', device='floppy'),
                        disk('/i/iso', 'hdb', readonly=True))
        self.assertEqual({'hdb': '/i/iso'},
                         rescue_disks.read_only_disks(floppy.to_xml()))

    def test_mark_read_only(self):
        infos = [{'path': '/i/disk.rescue'}, {'path': '/i/disk'},
                 {'path': '/i/disk.config.rescue'}]
        rescue_disks.mark_read_only(infos, LEGACY.to_xml())
        self.assertEqual([False, False, True],
                         [bool(i.get(rescue_disks.COPY)) for i in infos])

    def test_legacy_root_on_vdb_is_mirrored_even_with_a_volume_there(self):
        # nova dropped vdb (a volume BDM names /dev/vdb) and kept the cdrom
        # because the harness shows no <readonly/>.
        nova_choice = (['/i/disk.rescue', '/i/disk.config.rescue'],
                       ['vda', 'hda'])
        self.assertEqual(
            (['/i/disk.rescue', '/i/disk'], ['vda', 'vdb']),
            rescue_disks.disks_to_mirror(
                FakeGuest(LEGACY), LEGACY.to_xml(), True, nova_choice))

    def test_stable_keeps_nova_volume_filter(self):
        with_volume = domain(*(list(STABLE.devices) + [
            disk('/dev/sdx', 'vdd', source_type='block', fmt='raw')]))
        nova_choice = (['/i/disk', '/i/disk.eph0', '/i/disk.rescue'],
                       ['vda', 'vdb', 'vdc'])
        self.assertEqual(
            (['/i/disk', '/i/disk.eph0', '/i/disk.rescue'],
             ['vda', 'vdb', 'vdc']),
            rescue_disks.disks_to_mirror(
                FakeGuest(with_volume), with_volume.to_xml(), False,
                nova_choice))

    def test_volume_free_bdi_stays_truthy(self):
        bdi = rescue_disks.volume_free_bdi(
            {'block_device_mapping': [{'mount_device': '/dev/vdb'}],
             'swap': None})
        self.assertEqual([], bdi['block_device_mapping'])
        self.assertTrue(bdi)
        self.assertEqual({'block_device_mapping': []},
                         rescue_disks.volume_free_bdi(None))


class InstanceDirTestBase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=self.root)
        self.context = nova_context.get_admin_context()
        self.instance = fakes.instance(
            self.context, task_state=task_states.MIGRATING)
        self.dir = os.path.join(self.root, self.instance.uuid)
        os.makedirs(self.dir)


class SourceFilesTest(InstanceDirTestBase):

    def test_missing_disk_files(self):
        fakes.make_files(self.dir, [
            'disk', 'disk.rescue', 'disk.eph0', 'disk.eph1', 'disk.swap',
            'disk.config', 'disk.config.rescue', 'disk.info',
            'disk.local.rescue', 'kernel.rescue', 'console.log'])
        config = domain(disk(os.path.join(self.dir, 'disk.rescue'), 'vda'),
                        disk(os.path.join(self.dir, 'disk'), 'vdb'),
                        disk(os.path.join(self.dir, 'disk.config.rescue'),
                             'hda', device='cdrom'))
        self.assertEqual(
            [os.path.join(self.dir, name) for name in (
                'disk.config', 'disk.eph0', 'disk.eph1', 'disk.swap')],
            rescue_disks.missing_disk_files(self.instance, config))

    def test_synthetic_config(self):
        config = rescue_disks.synthetic_config(
            [('/i/disk.eph0', 'qcow2'), ('/i/disk.config', 'raw')])
        self.assertEqual(
            [('file', '/i/disk.eph0', 'qcow2'),
             ('file', '/i/disk.config', 'raw')],
            [(d.source_type, d.source_path, d.driver_format)
             for d in config.devices])


class DestinationTest(InstanceDirTestBase):

    def setUp(self):
        super().setUp()
        self.image_backend = mock.Mock()
        self.fetch_cached = mock.Mock()
        self.copy = self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.utils.copy_image')).mock

    def _info(self, name, backing=None, copy=False):
        info = {'path': '/src/%s/%s' % (self.instance.uuid, name),
                'type': 'qcow2' if backing else 'raw',
                'virt_disk_size': 1024, 'disk_size': 512,
                'backing_file': backing or '',
                'over_committed_disk_size': 0}
        if copy:
            info[rescue_disks.COPY] = True
        return info

    def test_rescue_base_filled_with_the_recorded_rescue_image(self):
        self.instance.system_metadata[rescue_record.IMAGE] = uuids.rescue
        infos = [self._info('disk', backing='/b/' + sha1(uuids.image)),
                 self._info('disk.rescue', backing='/b/' + sha1(uuids.rescue)),
                 self._info('disk.eph0', backing='/b/ephemeral_1_abc'),
                 self._info('disk.swap', backing='/b/swap_128')]
        rescue_disks.fill_foreign_bases(
            self.context, self.instance, self.dir, infos, 'src-host',
            self.image_backend, self.fetch_cached)
        backend = self.image_backend.by_name
        self.assertEqual(
            [mock.call(self.instance, os.path.join(self.dir, 'disk.rescue'))],
            backend.call_args_list)
        self.fetch_cached.assert_called_once_with(
            backend.return_value, mock.ANY, self.context, sha1(uuids.rescue),
            uuids.rescue, self.instance, 1024, 'src-host')
        # Ephemeral and swap bases are SourcePull's.
        backend.return_value.cache.assert_not_called()
        self.copy.assert_not_called()

    def _fill_unknown(self):
        infos = [self._info('disk.rescue',
                            backing='/b/' + sha1(uuids.someone_elses))]
        rescue_disks.fill_foreign_bases(
            self.context, self.instance, self.dir, infos, 'src-host',
            self.image_backend, self.fetch_cached)
        self.fetch_cached.assert_not_called()
        image = self.image_backend.by_name.return_value
        image.cache.assert_called_once_with(
            fetch_func=mock.ANY, filename=sha1(uuids.someone_elses),
            size=1024)
        image.cache.call_args[1]['fetch_func'](target='/x/_base/name')
        self.copy.assert_called_once_with(
            src='/x/_base/name', dest='/x/_base/name', host='src-host',
            receive=True)

    def test_unknown_base_copied_from_the_source_never_downloaded(self):
        """A rescue from before the package (no record), user's image."""
        self._fill_unknown()

    def test_record_of_another_image_is_not_trusted(self):
        self.instance.system_metadata[rescue_record.IMAGE] = uuids.rescue
        self._fill_unknown()

    def test_rescue_image_found_without_a_record(self):
        self.flags(rescue_image_id=uuids.configured, group='libvirt')
        self.assertEqual(uuids.configured, rescue_disks.image_named(
            self.instance, sha1(uuids.configured)))
        self.instance.system_metadata['image_base_image_ref'] = uuids.base
        self.assertEqual(uuids.base, rescue_disks.image_named(
            self.instance, sha1(uuids.base)))
        self.assertIsNone(rescue_disks.image_named(
            self.instance, sha1(uuids.other)))


class PullFromSourceTest(InstanceDirTestBase):
    """The destination's one transfer, on real files: a fake ssh runs the
    source's tar here, where the source's files sit under ``self.src``.
    """

    def setUp(self):
        super().setUp()
        self.ssh = ssh = self.useFixture(test_sparse_transfer.FakeSsh())
        self.src = os.path.join(ssh.tmp, 'src', self.instance.uuid)
        os.makedirs(os.path.join(ssh.tmp, 'src', '_base'))
        os.makedirs(self.src)
        self.image_backend = mock.Mock()
        self.image_backend.by_name.return_value.lock_path = (
            os.path.join(self.root, 'locks'))
        self.base = os.path.join(self.root, '_base')

    def _source_disk(self, name, base=None, base_bytes=b'mkfs here',
                     written=b'guest data'):
        """A disk on the source, as its disk info describes it."""
        path = os.path.join(self.src, name)
        info = {'path': path, 'virt_disk_size': 2 ** 30, 'disk_size': 0,
                'over_committed_disk_size': 0, 'backing_file': ''}
        if base:
            base_path = os.path.join(os.path.dirname(self.src), '_base',
                                     base)
            test_sparse_transfer.sparse_file(base_path, 2 ** 30,
                                             {0: base_bytes})
            processutils.execute(
                'qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'raw',
                '-b', base_path, path)
            processutils.execute('qemu-io', '-f', 'qcow2', '-c',
                                 'write -P 7 1M 64k', path)
            info.update(type='qcow2', backing_file=base)
            rescue_disks.describe_generated_bases([info])
            self.assertEqual(base_path, info[rescue_disks.BASE]['path'])
        else:
            test_sparse_transfer.sparse_file(path, 2 ** 20, {0: written})
            info['type'] = 'raw'
        return info

    def _pull(self, infos):
        pull = rescue_disks.SourcePull(self.instance, self.dir, infos,
                                       'src-host')
        pull.start()
        pull.place(self.image_backend)

    def _backing(self, path):
        return libvirt_utils.get_disk_backing_file(path, basename=False)

    def test_one_transfer_of_what_libvirt_will_not_mirror(self):
        eph = self._source_disk('disk.eph0', base='ephemeral_1_0706d66')
        eph[rescue_disks.COPY] = True
        config = self._source_disk('disk.config.rescue')
        config[rescue_disks.COPY] = True
        root = self._source_disk('disk')  # mirrored by libvirt
        self._pull([root, eph, config])

        self.assertEqual(['src-host'], self.ssh.calls())
        self.assertFalse(os.path.exists(os.path.join(self.dir, 'disk')))
        for info in (eph, config):
            dest = os.path.join(self.dir, os.path.basename(info['path']))
            self.assertEqual(test_sparse_transfer.read(info['path']),
                             test_sparse_transfer.read(dest))
        base = os.path.join(self.base, 'ephemeral_1_0706d66')
        self.assertEqual(
            test_sparse_transfer.read(eph[rescue_disks.BASE]['path']),
            test_sparse_transfer.read(base))
        self.assertLess(os.stat(base).st_blocks * 512, 2 ** 20)  # sparse
        self.assertEqual(['ephemeral_1_0706d66'], os.listdir(self.base))
        self.assertEqual(sorted(['disk.eph0', 'disk.config.rescue']),
                         sorted(os.listdir(self.dir)))  # no staging left

    def test_a_base_with_the_same_bytes_is_used_not_sent(self):
        eph = self._source_disk('disk.eph0', base='ephemeral_1_0706d66')
        eph[rescue_disks.COPY] = True
        os.makedirs(self.base)
        test_sparse_transfer.sparse_file(
            os.path.join(self.base, 'ephemeral_1_0706d66'), 2 ** 30,
            {0: b'mkfs here' + bytes(4096)})  # written zeros: same bytes
        pulled = self.useFixture(fixtures.MockPatch(
            'nova_rescue_lm.virt.libvirt.sparse_transfer.pull',
            wraps=rescue_disks.sparse_transfer.pull)).mock
        self._pull([eph])
        self.assertEqual([eph['path']], pulled.call_args[0][1])
        self.assertEqual(['ephemeral_1_0706d66'], os.listdir(self.base))

    def _other_bytes_here(self, name):
        os.makedirs(self.base)
        ours = os.path.join(self.base, name)
        test_sparse_transfer.sparse_file(ours, 2 ** 30,
                                         {0: b'mkfs THERE'})
        return ours, test_sparse_transfer.read(ours)

    def test_a_base_with_other_bytes_is_not_used(self):
        """mkfs on each host: the source's base is cached beside this
        host's, under a name nova's cache manager still manages, and the
        copied disk is pointed at it.
        """
        ours, before = self._other_bytes_here('ephemeral_1_0706d66')
        eph = self._source_disk('disk.eph0', base='ephemeral_1_0706d66')
        eph[rescue_disks.COPY] = True
        self._pull([eph])

        self.assertEqual(before, test_sparse_transfer.read(ours))
        [alternate] = [n for n in os.listdir(self.base)
                       if n != 'ephemeral_1_0706d66']
        self.assertRegex(alternate, r'^ephemeral_1_[0-9a-f]{7}$')
        alternate = os.path.join(self.base, alternate)
        self.assertEqual(
            test_sparse_transfer.read(eph[rescue_disks.BASE]['path']),
            test_sparse_transfer.read(alternate))
        disk = os.path.join(self.dir, 'disk.eph0')
        self.assertEqual(alternate, self._backing(disk))
        # the guest reads its own data over the source's base
        out, _err = processutils.execute(
            'qemu-io', '-f', 'qcow2', '-c', 'read -P 7 1M 64k', '-c',
            'read -v 0 9', disk)
        self.assertNotIn('Pattern verification failed', out)
        self.assertIn('mkfs.here', out)  # qemu-io's dump of 'mkfs here'

    def test_a_mirrored_disk_over_other_bytes_gets_an_overlay(self):
        """libvirt mirrors this disk's top layer only: the overlay made
        here must sit on the source's bytes.
        """
        self._other_bytes_here('swap_512')
        swap = self._source_disk('disk.swap', base='swap_512')
        self._pull([swap])
        disk = os.path.join(self.dir, 'disk.swap')
        backing = self._backing(disk)
        self.assertNotEqual(os.path.join(self.base, 'swap_512'), backing)
        self.assertEqual(
            test_sparse_transfer.read(swap[rescue_disks.BASE]['path']),
            test_sparse_transfer.read(backing))

    def test_nothing_to_bring(self):
        self._pull([self._source_disk('disk')])
        self.assertEqual([], self.ssh.calls())

    def test_what_the_pull_takes(self):
        self.assertEqual(
            [False, True, True, True],
            [rescue_disks.takes(info) for info in (
                {'backing_file': sha1(uuids.image)},
                {'backing_file': 'ephemeral_1_0706d66'},
                {'backing_file': '', rescue_disks.COPY: True},
                {'backing_file': 'swap_512'})])

    def test_an_abandoned_pull_leaves_nothing(self):
        eph = self._source_disk('disk.eph0', base='ephemeral_1_0706d66')
        eph[rescue_disks.COPY] = True
        pull = rescue_disks.SourcePull(self.instance, self.dir, [eph],
                                       'src-host')
        pull.start()
        pull.abandon()
        self.assertEqual([], os.listdir(self.dir))
        self.assertFalse(os.path.exists(self.base))

    def test_a_failed_transfer_places_nothing(self):
        self.useFixture(fixtures.EnvironmentVariable('SSH_REFUSED', '1'))
        eph = self._source_disk('disk.eph0', base='ephemeral_1_0706d66')
        eph[rescue_disks.COPY] = True
        pull = rescue_disks.SourcePull(self.instance, self.dir, [eph],
                                       'src-host')
        pull.start()
        self.assertRaises(processutils.ProcessExecutionError, pull.place,
                          self.image_backend)
        self.assertEqual([], os.listdir(self.dir))
        self.assertFalse(os.path.exists(self.base))


class KernelRamdiskTest(InstanceDirTestBase):

    def setUp(self):
        super().setUp()
        self.fetch_image = mock.Mock()

    def _fetch(self):
        rescue_disks.fetch_rescue_kernel_ramdisk(
            self.context, self.instance, 'src-host', self.fetch_image)
        return [c[0][1:4] for c in self.fetch_image.call_args_list]

    def test_recorded_ids(self):
        self.instance.system_metadata.update({
            rescue_record.KERNEL: uuids.kernel,
            rescue_record.RAMDISK: uuids.ramdisk})
        self.assertEqual(
            [(os.path.join(self.dir, 'kernel.rescue'), uuids.kernel,
              self.instance),
             (os.path.join(self.dir, 'ramdisk.rescue'), uuids.ramdisk,
              self.instance)],
            self._fetch())
        self.assertEqual('src-host',
                         self.fetch_image.call_args[0][4])

    def test_without_a_record_nova_choice(self):
        self.flags(rescue_kernel_id=uuids.kernel, group='libvirt')
        self.assertEqual(
            [(os.path.join(self.dir, 'kernel.rescue'), uuids.kernel,
              self.instance)], self._fetch())

    def test_existing_files_and_no_kernel(self):
        self.assertEqual([], self._fetch())
        self.instance.system_metadata[rescue_record.KERNEL] = uuids.kernel
        fakes.make_files(self.dir, ['kernel.rescue'])
        self.assertEqual([], self._fetch())

    def test_guards(self):
        self.assertTrue(rescue_disks.is_migrating_rescued(self.instance))
        self.instance.task_state = None
        self.assertFalse(rescue_disks.is_migrating_rescued(self.instance))
        self.instance.vm_state = vm_states.ACTIVE
        self.assertFalse(rescue_disks.is_rescued(self.instance))
