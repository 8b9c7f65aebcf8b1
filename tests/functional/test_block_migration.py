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

"""Block live migration of rescued servers: every byte in the right place.

Real files on separate hosts (see ``block_base``): the test writes what the
rescue guest would write, migrates, unrescues on the destination and reads
the disks back through their backing chains.
"""

import os

import fixtures
from nova.tests import fixtures as nova_fixtures
from nova.virt import images
from oslo_concurrency import processutils

from tests.functional import block_base
from tests.functional.block_base import CDROM_RESCUE_IMAGE
from tests.functional.block_base import EPHEMERAL_WRITE
from tests.functional.block_base import guest_read
from tests.functional.block_base import guest_write
from tests.functional.block_base import image_marker
from tests.functional.block_base import KERNEL
from tests.functional.block_base import RAMDISK
from tests.functional.block_base import RESCUE_IMAGE
from tests.functional.block_base import RESCUE_WRITE
from tests.functional.block_base import ROOT_WRITE
from tests.functional.block_base import STABLE_RESCUE_IMAGE


class _Scenarios(block_base.BlockMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')
        self._create_rescue_image(RESCUE_IMAGE)
        self._create_rescue_image(STABLE_RESCUE_IMAGE,
                                  hw_rescue_device='disk',
                                  hw_rescue_bus='virtio')
        self._create_rescue_image(CDROM_RESCUE_IMAGE,
                                  hw_rescue_device='cdrom',
                                  hw_rescue_bus='sata')
        self._create_rescue_image(KERNEL)
        self._create_rescue_image(RAMDISK)
        self.flags(rescue_kernel_id=KERNEL, rescue_ramdisk_id=RAMDISK,
                   group='libvirt')

    # what the guest did and what must arrive

    def _write_as_guests(self, server, legacy=True, cdrom=False):
        src = self.instance_dir('src', server)
        guest_write(os.path.join(src, 'disk'), *ROOT_WRITE)
        guest_write(os.path.join(src, 'disk.eph0'), *EPHEMERAL_WRITE)
        if not cdrom:
            guest_write(os.path.join(src, 'disk.rescue'), *RESCUE_WRITE)
        snapshot = {}
        # What mkfs/mkswap wrote on the source (the base the guest sees).
        for name in ('disk.eph0', 'disk.swap'):
            snapshot['head:' + name] = guest_read(os.path.join(src, name),
                                                  0, 64)
        # A stable-device rescue domain uses the server's own config drive
        # (nova makes an unused disk.config.rescue, dropped at unrescue).
        for name in ('disk.config',) + (('disk.config.rescue',) if legacy
                                        else ()):
            path = os.path.join(src, name)
            if os.path.exists(path):
                with open(path, 'rb') as f:
                    snapshot[name] = f.read()
        return snapshot

    def _assert_config_drive(self, path, expected, password=False):
        with open(path, 'rb') as f:
            data = f.read()
        self.assertTrue(data.startswith(b'CONFIGDRIVE '), path)
        self.assertEqual(expected, data, path)
        if password:
            self.assertIn(b'MySecretPass', data)

    def _migrate(self, server):
        self.assertEqual(202, self._live_migrate_action(
            server, host='dest').status)
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('dest', self._host_of(server))
        self.assertEqual([], self.hypervisor_errors)
        # A block migration: the source no longer has the server's files.
        self.assertFalse(os.path.exists(self.instance_dir('src', server)))
        return server

    def _assert_rescue_cache(self, image_id):
        """The destination's cache file named after the rescue image holds
        the rescue image (if the backend needed one).
        """
        cache = self.cache_file('dest', image_id)
        if self.images_type == 'qcow2':
            self.assertTrue(os.path.exists(cache), cache)
        if os.path.exists(cache):
            self._assert_image(cache, image_id)

    def _assert_rescue_disks_on_dest(self, server, image_id, snapshot,
                                     cdrom=False):
        dest = self.instance_dir('dest', server)
        rescue = os.path.join(dest, 'disk.rescue')
        self._assert_image(rescue, image_id)
        if not cdrom:
            self._assert_written(rescue, RESCUE_WRITE)
        self._assert_rescue_cache(image_id)
        for name, content in snapshot.items():
            if name.startswith('head:'):
                self.assertEqual(content, guest_read(
                    os.path.join(dest, name[5:]), 0, 64), name)
                continue
            self._assert_config_drive(os.path.join(dest, name), content,
                                      password=name.endswith('.rescue'))
        for name, image in (('kernel.rescue', KERNEL),
                            ('ramdisk.rescue', RAMDISK)):
            self._assert_image(os.path.join(dest, name), image)
        # The running rescue domain uses the destination's files.
        for _dev, path in self._domain_disks('dest', server):
            self.assertTrue(path.startswith(dest + os.sep), path)
            self.assertTrue(os.path.exists(path), path)

    def _assert_unrescued_on_dest(self, server, snapshot):
        server = self._unrescue_server(server)
        self.assertEqual('dest', self._host_of(server))
        dest = self.instance_dir('dest', server)
        names = sorted(os.path.basename(path)
                       for _dev, path in self._domain_disks('dest', server))
        expected = ['disk', 'disk.eph0', 'disk.swap']
        if 'disk.config' in snapshot:
            expected.append('disk.config')
        self.assertEqual(sorted(expected), names)
        root = os.path.join(dest, 'disk')
        self._assert_image(root, block_base.base_image_id())
        self._assert_written(root, ROOT_WRITE)
        self._assert_written(os.path.join(dest, 'disk.eph0'),
                             EPHEMERAL_WRITE)
        for name in ('disk.eph0', 'disk.swap'):
            self.assertEqual(snapshot['head:' + name], guest_read(
                os.path.join(dest, name), 0, 64), name)
        if 'disk.config' in snapshot:
            self._assert_config_drive(os.path.join(dest, 'disk.config'),
                                      snapshot['disk.config'])
        self.assertEqual([], [n for n in os.listdir(dest)
                              if n.endswith('.rescue') or
                              n == 'unrescue.xml'])
        if self.images_type == 'qcow2':
            self._assert_image(
                self.cache_file('dest', block_base.base_image_id()),
                block_base.base_image_id())
        return server

    # scenarios

    def test_legacy_rescue_block_migration(self):
        server = self._create_full_server()
        server = self._rescue_with(server, RESCUE_IMAGE)
        snapshot = self._write_as_guests(server)
        self.assertEqual({'disk.config', 'disk.config.rescue'},
                         {n for n in snapshot if not n.startswith('head:')})

        asked = []

        def qemu_img_info(path, format=None):
            asked.append(path)
            return real_qemu_img_info(path, format)

        real_qemu_img_info = images.qemu_img_info
        with fixtures.MonkeyPatch('nova.virt.images.qemu_img_info',
                                  qemu_img_info):
            server = self._migrate(server)
        # nova runs qemu-img for the disks the rescue domain attaches; the
        # package reads the headers of the qcow2 disks it does not attach.
        on_source = {os.path.basename(path) for path in asked
                     if path.startswith(self.instances_root('src'))}
        if self.images_type == 'qcow2':
            self.assertIn('disk.rescue', on_source)
        self.assertEqual(set(), on_source & {'disk.eph0', 'disk.swap'})
        migration = self.migrations[-1]
        # The root (vdb in a legacy rescue domain) is mirrored, the
        # read-only config drive is not (it was copied beforehand).
        self.assertEqual(['vda', 'vdb'], migration['migrate_disks'])

        self._assert_rescue_disks_on_dest(server, RESCUE_IMAGE, snapshot)
        # Everything libvirt does not mirror came in one transfer.
        [(host, paths)] = self.pulls
        self.assertEqual('src', host)
        expected = {'disk.eph0', 'disk.swap', 'disk.config',
                    'disk.config.rescue'}
        if self.images_type == 'qcow2':
            expected |= {self._generated_base('src', 'ephemeral'),
                         self._generated_base('src', 'swap')}
        self.assertEqual(expected, {os.path.basename(p) for p in paths})
        self._assert_unrescued_on_dest(server, snapshot)

    def _generated_base(self, host, kind):
        [name] = [n for n in os.listdir(os.path.join(
            self.instances_root(host), '_base')) if n.startswith(kind)]
        return name

    def test_legacy_rescue_without_config_drive(self):
        server = self._create_full_server(config_drive=False)
        server = self._rescue_with(server, RESCUE_IMAGE)
        snapshot = self._write_as_guests(server)
        self.assertEqual(set(), {n for n in snapshot
                                 if not n.startswith('head:')})

        server = self._migrate(server)
        self.assertEqual(['vda', 'vdb'], self.migrations[-1]['migrate_disks'])
        self._assert_rescue_disks_on_dest(server, RESCUE_IMAGE, snapshot)
        self.assertEqual([], [n for n in os.listdir(
            self.instance_dir('dest', server)) if n.startswith('disk.config')])
        self._assert_unrescued_on_dest(server, snapshot)

    def test_stable_device_rescue_block_migration(self):
        server = self._create_full_server()
        server = self._rescue_with(server, STABLE_RESCUE_IMAGE)
        self.assertEqual('stable-device', self._instance(
            server).system_metadata['rescue_lm_mode'])
        snapshot = self._write_as_guests(server, legacy=False)

        server = self._migrate(server)
        # Every writable disk of the domain is mirrored; the rescue disk is
        # the last one.
        self.assertEqual(['vda', 'vdb', 'vdc', 'vdd'],
                         self.migrations[-1]['migrate_disks'])
        self._assert_rescue_disks_on_dest(server, STABLE_RESCUE_IMAGE,
                                          snapshot)
        self._assert_unrescued_on_dest(server, snapshot)

    def test_stable_device_cdrom_rescue_block_migration(self):
        """A read-only rescue disk is copied, never listed for libvirt."""
        server = self._create_full_server()
        server = self._rescue_with(server, CDROM_RESCUE_IMAGE)
        snapshot = self._write_as_guests(server, legacy=False, cdrom=True)

        server = self._migrate(server)
        self.assertEqual(['vda', 'vdb', 'vdc'],
                         self.migrations[-1]['migrate_disks'])
        self._assert_rescue_disks_on_dest(server, CDROM_RESCUE_IMAGE,
                                          snapshot, cdrom=True)
        self._assert_unrescued_on_dest(server, snapshot)

    def test_rescued_before_the_package_was_installed(self):
        server = self._create_full_server()
        server = self._rescue_with(server, RESCUE_IMAGE)
        # What a rescue by nova's own driver leaves: unrescue.xml, and no
        # record of the rescue image in the database.
        instance = self._instance(server)
        for key in [k for k in instance.system_metadata
                    if k.startswith('rescue_lm_')]:
            del instance.system_metadata[key]
        instance.save()
        with open(os.path.join(self.instance_dir('src', server),
                               'unrescue.xml'), 'w') as f:
            f.write('<domain>the source host</domain>')
        snapshot = self._write_as_guests(server)

        server = self._migrate(server)
        # The rescue image could not be proven from the cache name: its base
        # came from the source host, never from the image service.
        rescue_cache = self.cache_file('dest', RESCUE_IMAGE)
        self.assertEqual([], [f for f in self.fetched
                              if f[2] == rescue_cache])
        if self.images_type == 'qcow2':
            self.assertIn(rescue_cache,
                          [dest for _h, _s, dest in self.remote_copies])
        self._assert_rescue_disks_on_dest(server, RESCUE_IMAGE, snapshot)
        self._assert_unrescued_on_dest(server, snapshot)


class TestQcow2(_Scenarios):
    images_type = 'qcow2'

    def test_boot_from_volume_stable_device_rescue(self):
        """The root is a volume (not copied); every local disk moves."""
        flavor_id = self._create_flavor(memory_mb=512, vcpu=1, disk=1,
                                        ephemeral=1, swap=128)
        server = self._build_server(flavor_id=flavor_id, networks='none',
                                    host='src')
        server.pop('imageRef')
        server['config_drive'] = True
        server['block_device_mapping_v2'] = [{
            'source_type': 'volume', 'destination_type': 'volume',
            'boot_index': 0,
            'uuid': nova_fixtures.CinderFixture.IMAGE_BACKED_VOL}]
        server = self._wait_for_state_change(
            self.api.post_server({'server': server}), 'ACTIVE')
        server = self._rescue_with(server, STABLE_RESCUE_IMAGE)
        src = self.instance_dir('src', server)
        self.assertFalse(os.path.exists(os.path.join(src, 'disk')))
        guest_write(os.path.join(src, 'disk.eph0'), *EPHEMERAL_WRITE)
        guest_write(os.path.join(src, 'disk.rescue'), *RESCUE_WRITE)
        with open(os.path.join(src, 'disk.config'), 'rb') as f:
            config_drive = f.read()
        eph_head = guest_read(os.path.join(src, 'disk.eph0'), 0, 64)

        server = self._migrate(server)
        dest = self.instance_dir('dest', server)
        # vda is the volume: connected on the destination, never copied.
        self.assertNotIn('vda', self.migrations[-1]['migrate_disks'])
        rescue = os.path.join(dest, 'disk.rescue')
        self._assert_image(rescue, STABLE_RESCUE_IMAGE)
        self._assert_written(rescue, RESCUE_WRITE)
        self._assert_rescue_cache(STABLE_RESCUE_IMAGE)
        # The server has no image: the rescue image comes from the record.
        self.assertIn(('dest', STABLE_RESCUE_IMAGE,
                       self.cache_file('dest', STABLE_RESCUE_IMAGE)),
                      self.fetched)

        server = self._unrescue_server(server)
        self.assertEqual('dest', self._host_of(server))
        self._assert_written(os.path.join(dest, 'disk.eph0'),
                             EPHEMERAL_WRITE)
        self.assertEqual(eph_head, guest_read(os.path.join(dest, 'disk.eph0'),
                                              0, 64))
        self._assert_config_drive(os.path.join(dest, 'disk.config'),
                                  config_drive)
        self.assertEqual(['disk.config', 'disk.eph0', 'disk.swap'],
                         sorted(os.path.basename(p) for _d, p in
                                self._domain_disks('dest', server)
                                if (p or '').startswith(dest)))

    def test_legacy_root_at_vdb_where_a_volume_is_attached(self):
        """nova takes a target named by a volume BDM for that volume; in a
        legacy rescue domain vdb is the server's root disk.
        """
        flavor_id = self._create_flavor(memory_mb=512, vcpu=1, disk=1,
                                        ephemeral=0, swap=0)
        server = self._create_server(flavor_id=flavor_id, host='src',
                                     networks='none')
        volume = nova_fixtures.CinderFixture.IMAGE_BACKED_VOL
        self.api.post_server_volume(
            server['id'], {'volumeAttachment': {'volumeId': volume}})
        self._wait_for_volume_attach(server['id'], volume)
        attachment = self.api.get_server_volumes(server['id'])[0]
        self.assertEqual('/dev/vdb', attachment['device'])
        server = self._rescue_with(server, RESCUE_IMAGE)
        self.assertEqual(['vda', 'vdb'],
                         [d for d, _p in self._domain_disks('src', server)
                          if d.startswith('vd')])
        guest_write(os.path.join(self.instance_dir('src', server), 'disk'),
                    *ROOT_WRITE)

        server = self._migrate(server)
        self.assertEqual(['vda', 'vdb'], self.migrations[-1]['migrate_disks'])
        server = self._unrescue_server(server)
        self.assertEqual('dest', self._host_of(server))
        root = os.path.join(self.instance_dir('dest', server), 'disk')
        self._assert_image(root, block_base.base_image_id())
        self._assert_written(root, ROOT_WRITE)

    def test_destination_made_its_own_ephemeral_and_swap_bases(self):
        """nova made bases of the same names on the destination with mkfs
        and mkswap (other bytes): the server's disks must not sit on them
        (before this was checked, the ephemeral disk read the destination's
        superblock after the migration).
        """
        other = self._create_full_server(host='dest')
        theirs = {kind: self._generated_base('dest', kind)
                  for kind in ('ephemeral', 'swap')}
        before = {kind: guest_read(self.cache_path('dest', name), 0, 64)
                  for kind, name in theirs.items()}
        server = self._create_full_server()
        self.assertEqual(theirs, {kind: self._generated_base('src', kind)
                                  for kind in theirs})
        server = self._rescue_with(server, RESCUE_IMAGE)
        snapshot = self._write_as_guests(server)
        for name in ('disk.eph0', 'disk.swap'):
            self.assertNotEqual(
                before['ephemeral' if 'eph' in name else 'swap'],
                snapshot['head:' + name])

        server = self._migrate(server)
        self._assert_rescue_disks_on_dest(server, RESCUE_IMAGE, snapshot)
        # the destination's own bases are untouched; its other server
        # still reads them
        for kind, name in theirs.items():
            self.assertEqual(before[kind], guest_read(
                self.cache_path('dest', name), 0, 64))
        self.assertEqual(before['ephemeral'], guest_read(os.path.join(
            self.instance_dir('dest', other), 'disk.eph0'), 0, 64))
        self._assert_unrescued_on_dest(server, snapshot)

    def test_destination_has_the_same_bases(self):
        """Bases proven to hold the source's bytes are used, not sent."""
        server = self._create_full_server()
        for kind in ('ephemeral', 'swap'):
            name = self._generated_base('src', kind)
            os.makedirs(os.path.join(self.instances_root('dest'), '_base'),
                        exist_ok=True)
            processutils.execute(
                'cp', '--sparse=always', self.cache_path('src', name),
                self.cache_path('dest', name))
        server = self._rescue_with(server, RESCUE_IMAGE)
        snapshot = self._write_as_guests(server)
        server = self._migrate(server)
        [(_host, paths)] = self.pulls
        self.assertEqual({'disk.eph0', 'disk.swap', 'disk.config',
                          'disk.config.rescue'},
                         {os.path.basename(p) for p in paths})
        self.assertEqual(2, len([n for n in os.listdir(os.path.join(
            self.instances_root('dest'), '_base'))
            if n.startswith(('ephemeral', 'swap'))]))
        self._assert_unrescued_on_dest(server, snapshot)

    def cache_path(self, host, name):
        return os.path.join(self.instances_root(host), '_base', name)


class TestFlat(_Scenarios):
    images_type = 'flat'


del _Scenarios


class TestRefused(block_base.BlockMigrationTestBase):
    """What cannot be made correct is refused before anything moves."""

    CAST_AS_CALL = False  # the source pre-check fails after the API's 202

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')
        self._create_rescue_image(RESCUE_IMAGE)

    def _refused_in_pre_check(self, server, reason, advice=True):
        self.assertEqual(202, self._live_migrate_action(
            server, host='dest').status)
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('src', self._host_of(server))
        self.assertEqual([], self.migrations)
        self.assertFalse(os.path.exists(self.instance_dir('dest', server)))
        action = self.api.get_instance_actions(server['id'])[0]
        self.assertEqual('live-migration', action['action'])
        event = self.api.api_get('/servers/%s/os-instance-actions/%s' % (
            server['id'], action['request_id'])).body['instanceAction']
        self.assertIn(reason, str(event))
        if advice:  # (nova keeps 255 characters of the reason)
            self.assertIn('unrescue the server and migrate it then',
                          str(event))
        return server

    def _assert_intact_after_unrescue(self, server):
        server = self._unrescue_server(server)
        self.assertEqual('src', self._host_of(server))
        src = self.instance_dir('src', server)
        self._assert_written(os.path.join(src, 'disk'), ROOT_WRITE)
        self._assert_written(os.path.join(src, 'disk.eph0'), EPHEMERAL_WRITE)

    def _rescued_with_data(self):
        server = self._rescue_with(self._create_full_server(), RESCUE_IMAGE)
        src = self.instance_dir('src', server)
        guest_write(os.path.join(src, 'disk'), *ROOT_WRITE)
        guest_write(os.path.join(src, 'disk.eph0'), *EPHEMERAL_WRITE)
        return server

    def test_lvm_block_migration_refused(self):
        server = self._rescued_with_data()
        # Both computes now keep their disks in LVM (their trait was
        # computed at start, so only the pre-check can stop this one).
        self.flags(images_type='lvm', images_volume_group='vg',
                   group='libvirt')
        server = self._refused_in_pre_check(server, 'LVM')
        self.flags(images_type=self.images_type, group='libvirt')
        self._assert_intact_after_unrescue(server)

    def test_tunnelled_block_migration_refused(self):
        server = self._rescued_with_data()
        self.flags(live_migration_tunnelled=True, group='libvirt')
        server = self._refused_in_pre_check(server, 'tunnelled')
        self.flags(live_migration_tunnelled=False, group='libvirt')
        self._assert_intact_after_unrescue(server)

    def test_post_copy_refused(self):
        server = self._rescued_with_data()
        self.flags(live_migration_permit_post_copy=True,
                   live_migration_timeout_action='force_complete',
                   group='libvirt')
        server = self._refused_in_pre_check(
            server, 'post-copy is not supported for rescued servers',
            advice=False)
        self.flags(live_migration_permit_post_copy=False, group='libvirt')
        self._assert_intact_after_unrescue(server)

    def test_source_unreachable_over_the_transport(self):
        """The destination cannot copy from the source (no ssh between the
        computes): refused with the transport and both hosts named.
        """
        server = self._rescued_with_data()
        real_copy = self._copy_image

        def unreachable(src, dest, host=None, **kwargs):
            if host:
                raise processutils.ProcessExecutionError(
                    exit_code=255, cmd='scp -C -r %s:%s %s' % (host, src,
                                                               dest),
                    stderr='ssh: connect to host %s port 22: Connection '
                           'refused\nlost connection\n' % host)
            return real_copy(src, dest, **kwargs)
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.utils.copy_image', unreachable))
        self.useFixture(fixtures.EnvironmentVariable(
            'RESCUE_LM_TEST_SSH_REFUSED', '1'))
        self.flags(host='dest')  # the compute that raises it
        self.assertEqual(202, self._live_migrate_action(
            server, host='dest').status)
        self._wait_for_migration_status(server, ['failed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('src', self._host_of(server))
        self.assertEqual([], self.migrations)  # libvirt was never asked
        self.assertFalse(os.path.exists(self.instance_dir('dest', server)))
        action = self.api.get_instance_actions(server['id'])[0]
        events = self.api.api_get('/servers/%s/os-instance-actions/%s' % (
            server['id'], action['request_id'])).body['instanceAction'][
                'events']
        [failed] = [e for e in events
                    if e['event'] == 'compute_pre_live_migration']
        self.assertEqual('Error', failed['result'])
        self.assertIn('cannot copy the rescued server\'s disks from src to '
                      'dest over ssh (tar; [libvirt] '
                      'remote_filesystem_transport = ssh): ssh: connect to '
                      'host src port 22: Connection refused',
                      failed['details'])
        self._assert_intact_after_unrescue(server)

    def test_lvm_compute_lacks_the_capability(self):
        """An LVM compute does not report the trait: 400 up front."""
        self.flags(images_type='lvm', images_volume_group='vg',
                   group='libvirt')
        self.start_compute('lvm')
        self.flags(images_type=self.images_type, group='libvirt')
        self.assertNotIn(block_base.base.TRAIT,
                         self._get_provider_traits(
                             self.compute_rp_uuids['lvm']))
        self.assertIn(block_base.base.TRAIT,
                      self._get_provider_traits(
                          self.compute_rp_uuids['dest']))
        server = self._rescue_with(self._create_full_server(), RESCUE_IMAGE)
        resp = self._live_migrate_action(server, host='lvm',
                                         check_response_status=[400])
        self.assertIn('does not support live migration of rescued',
                      str(resp.body))
        self.assertEqual([], self._migrations_of(server))
        self.assertEqual('RESCUE', self._show_server(server)['status'])


class TestSharedBlockStorage(block_base.BlockMigrationTestBase):
    """Disks on shared block storage (RBD), instance directory not shared.

    nova moves no disk then and fetches only the server's kernel and ramdisk
    on the destination; the rescue domain boots ``kernel.rescue`` and
    ``ramdisk.rescue`` from the instance directory.
    """

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')
        self._create_rescue_image(RESCUE_IMAGE)
        self._create_rescue_image(KERNEL)
        self._create_rescue_image(RAMDISK)
        self.flags(rescue_kernel_id=KERNEL, rescue_ramdisk_id=RAMDISK,
                   group='libvirt')
        # What the RBD image backend answers on both hosts.
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.driver.LibvirtDriver._is_shared_block_storage',
            return_value=True))

    def test_rescue_kernel_and_ramdisk_arrive(self):
        server = self._create_server(host='src', networks='none')
        server = self._rescue_with(server, RESCUE_IMAGE)
        self.assertEqual(202, self._live_migrate_action(
            server, host='dest').status)
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('dest', self._host_of(server))
        self.assertEqual([], self.migrations[-1]['migrate_disks'])
        dest = self.instance_dir('dest', server)
        for name, image in (('kernel.rescue', KERNEL),
                            ('ramdisk.rescue', RAMDISK)):
            path = os.path.join(dest, name)
            with open(path, 'rb') as f:
                self.assertEqual(image_marker(image),
                                 f.read(len(image_marker(image))), path)
