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

"""Firmware of a UEFI (or BIOS) server across rescue, live migration and
unrescue, through nova's real services.

Unrescue is a hard reboot that rebuilds the server's domain from the
database, and nova's ``_hard_reboot`` hands it the running domain as
``old_guest`` so that the firmware files libvirt chose before are reused
(``_copy_guest_firmware_elements``). During unrescue the running domain is
the rescue domain; a legacy rescue domain is built from the rescue image's
properties, so its firmware may differ from the server's. These tests check
that the unrescued domain gets the server's firmware (BIOS or UEFI, with or
without secure boot) and keeps the server's NVRAM file.

nova's fake libvirt neither selects firmware nor keeps ``<os
firmware='efi'>``; ``Guest.create`` is wrapped to do what libvirt does
(as nova's own ``test_uefi`` does): a domain asking for ``firmware='efi'``
without a loader path gets OVMF's code file and an NVRAM file at libvirt's
default path, named after the domain.
"""

import collections
import os

import fixtures
from lxml import etree
from oslo_utils.fixture import uuidsentinel as uuids

from nova import objects
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.virt.libvirt import guest as libvirt_guest

from tests.functional import base

CODE = '/usr/share/OVMF/OVMF_CODE.fd'
CODE_SECBOOT = '/usr/share/OVMF/OVMF_CODE.secboot.fd'
VARS = '/usr/share/OVMF/OVMF_VARS.fd'
VARS_MS = '/usr/share/OVMF/OVMF_VARS.ms.fd'
NVRAM_DIR = '/var/lib/libvirt/qemu/nvram'
FIRMWARE_FILES = (CODE, CODE_SECBOOT, VARS, VARS_MS)

UEFI = {'hw_machine_type': 'q35', 'hw_firmware_type': 'uefi'}
UEFI_SB = dict(UEFI, os_secure_boot='required')
STABLE = {'hw_rescue_device': 'disk', 'hw_rescue_bus': 'virtio'}


def _libvirt_selects_firmware(xml):
    """What libvirt does with ``<os firmware='efi'>`` (auto-selection)."""
    tree = etree.fromstring(xml)
    os_elem = tree.find('./os')
    if os_elem.get('firmware') != 'efi':
        return xml
    loader = os_elem.find('./loader')
    if loader is None:
        loader = etree.SubElement(os_elem, 'loader')
    if loader.text:
        return xml  # nova gave the files: no selection
    secure = loader.get('secure') == 'yes'
    loader.text = CODE_SECBOOT if secure else CODE
    loader.set('type', 'pflash')
    loader.set('readonly', 'yes')
    nvram = os_elem.find('./nvram')
    if nvram is None:
        nvram = etree.SubElement(os_elem, 'nvram')
    nvram.set('template', VARS_MS if secure else VARS)
    if not nvram.text:
        nvram.text = '%s/%s_VARS.fd' % (NVRAM_DIR, tree.find('./name').text)
    return etree.tostring(tree, encoding='unicode')


class RescueFirmwareTest(base.RescueLiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        real_exists = os.path.exists
        self.useFixture(fixtures.MonkeyPatch(
            'os.path.exists',
            lambda path: path in FIRMWARE_FILES or real_exists(path)))
        #: (domain uuid, XML nova generated) for every Guest.create.
        self.created = []
        orig_create = libvirt_guest.Guest.create

        def fake_create(cls, xml, host):
            tree = etree.fromstring(xml)
            self.created.append((tree.find('./uuid').text, xml))
            return orig_create(_libvirt_selects_firmware(xml), host)

        self.stub_out('nova.virt.libvirt.guest.Guest.create', fake_create)
        self._libvirt_keeps_nvram_files()
        self.start_compute('src')
        self.start_compute('dest')
        for image_id, properties in (
            (uuids.uefi_image, UEFI),
            (uuids.uefi_sb_image, UEFI_SB),
            (uuids.bios_image, {}),
            (uuids.bios_q35_image, {'hw_machine_type': 'q35'}),
            (uuids.bios_rescue, {}),
            (uuids.uefi_rescue, UEFI),
            (uuids.uefi_sb_rescue, UEFI_SB),
            (uuids.stable_bios_rescue, STABLE),
        ):
            self._create_image(image_id, properties)

    def _libvirt_keeps_nvram_files(self):
        """What libvirt does with a domain's NVRAM file on each host: made
        from its template when the domain starts, deleted when the domain
        is undefined with VIR_DOMAIN_UNDEFINE_NVRAM.
        """
        #: {host: NVRAM files there}
        self.nvram_files = collections.defaultdict(set)

        def where(domain):
            return [name for name, compute in self.computes.items()
                    if compute.driver._host.get_connection() is
                    domain._connection][0]

        def nvram(domain):
            return etree.fromstring(domain.XMLDesc(0)).findtext('./os/nvram')

        def started(domain):
            if nvram(domain):
                self.nvram_files[where(domain)].add(nvram(domain))

        def create_with_flags(domain, flags):
            real_create_with_flags(domain, flags)
            started(domain)

        def create_xml(conn, xml, flags):
            domain = real_create_xml(conn, xml, flags)
            started(domain)
            return domain

        def undefine_flags(domain, flags):
            if flags & fakelibvirt.VIR_DOMAIN_UNDEFINE_NVRAM and nvram(domain):
                self.nvram_files[where(domain)].discard(nvram(domain))
            real_undefine_flags(domain, flags)

        real_create_with_flags = fakelibvirt.Domain.createWithFlags
        real_create_xml = fakelibvirt.Connection.createXML
        real_undefine_flags = fakelibvirt.Domain.undefineFlags
        for owner, name, fake in (
                (fakelibvirt.Domain, 'createWithFlags', create_with_flags),
                (fakelibvirt.Connection, 'createXML', create_xml),
                (fakelibvirt.Domain, 'undefineFlags', undefine_flags)):
            self.useFixture(fixtures.MonkeyPatch(
                '%s.%s.%s' % (owner.__module__, owner.__name__, name), fake))

    def _create_image(self, image_id, properties):
        self._register_image(image_id, 74185822, tags=[], **properties)

    # helpers

    def _boot(self, image_id):
        return self._create_server(image_uuid=image_id, host='src',
                                   networks='none')

    def _rescue_with(self, server, image_id):
        self.api.post_server_action(server['id'], {'rescue': {
            'adminPass': 'MySecretPass', 'rescue_image_ref': image_id}})
        return self._wait_for_state_change(server, 'RESCUE')

    def _live_migrate(self, server, host='dest'):
        resp = self._live_migrate_action(server, host=host)
        self.assertEqual(202, resp.status)
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual(host, self._host_of(server))
        return server

    def _os(self, hostname, server):
        """The ``<os>`` element of the server's domain on ``hostname``."""
        conn = self.computes[hostname].driver._host.get_connection()
        xml = conn.lookupByUUIDString(server['id']).XMLDesc(0)
        return etree.fromstring(xml).find('./os')

    def _firmware(self, hostname, server):
        """(loader, loader type, secure, nvram) of the running domain."""
        os_elem = self._os(hostname, server)
        loader = os_elem.find('./loader')
        nvram = os_elem.find('./nvram')
        return (
            None if loader is None else loader.text,
            None if loader is None else loader.get('type'),
            None if loader is None else loader.get('secure'),
            None if nvram is None else nvram.text)

    def _last_generated_os(self, server):
        """``<os>`` of the last XML nova generated for the server."""
        xml = [x for uuid, x in self.created if uuid == server['id']][-1]
        return etree.fromstring(xml).find('./os')

    def _assert_machine_type(self, server, machine_type):
        """The server's recorded machine type, and the one its last
        generated domain has (the fake libvirt reports a fixed one).
        """
        self.assertEqual(
            machine_type,
            self._sysmeta(server).get('image_hw_machine_type'))
        self.assertEqual(
            machine_type,
            self._last_generated_os(server).find('./type').get('machine'))

    def _assert_uefi(self, hostname, server, before, secure=False):
        code = CODE_SECBOOT if secure else CODE
        self.assertEqual(
            (code, 'pflash', 'yes' if secure else 'no', before[3]),
            self._firmware(hostname, server),
            etree.tostring(self._os(hostname, server), encoding='unicode'))

    def _assert_bios(self, hostname, server):
        self.assertEqual((None, None, None, None),
                         self._firmware(hostname, server))
        self.assertIsNone(self._last_generated_os(server).get('firmware'))

    def _nvram_of(self, server):
        name = self._instance_name(server)
        return '%s/%s_VARS.fd' % (NVRAM_DIR, name)

    def _instance_name(self, server):
        return self._show_server(server)['OS-EXT-SRV-ATTR:instance_name']

    # UEFI server, BIOS (legacy) rescue image

    def _uefi_server_bios_rescue(self, migrate, secure=False):
        server = self._boot(uuids.uefi_sb_image if secure
                            else uuids.uefi_image)
        before = self._firmware('src', server)
        self.assertEqual(
            (CODE_SECBOOT if secure else CODE, 'pflash',
             'yes' if secure else 'no', self._nvram_of(server)), before)

        self._assert_machine_type(server, 'q35')

        server = self._rescue_with(server, uuids.bios_rescue)
        self.assertEqual('legacy', self._sysmeta(server)['rescue_lm_mode'])
        # The rescue domain runs on the rescue image's machine type; the
        # server's own stays recorded.
        self.assertEqual(
            'pc',
            self._last_generated_os(server).find('./type').get('machine'))
        self.assertEqual(
            'q35', self._sysmeta(server).get('image_hw_machine_type'))
        # The legacy rescue domain boots the BIOS rescue image with BIOS.
        self.assertEqual((None, None, None, None),
                         self._firmware('src', server))
        host = 'src'
        if migrate:
            server = self._live_migrate(server)
            host = 'dest'
            self.assertEqual((None, None, None, None),
                             self._firmware(host, server))

        server = self._unrescue_server(server)
        self.assertEqual(host, self._host_of(server))
        self._assert_uefi(host, server, before, secure=secure)
        # the server's own NVRAM file (its UEFI variables) is kept
        self.assertEqual({before[3]}, self.nvram_files[host])
        # nova let libvirt select the firmware again (nothing to copy).
        generated = self._last_generated_os(server)
        self.assertEqual('efi', generated.get('firmware'))
        self.assertIsNone(generated.find('./loader').text)
        # ... on the server's machine type, not the rescue image's.
        self._assert_machine_type(server, 'q35')
        return server, before

    def test_uefi_server_bios_rescue_unrescue(self):
        self._uefi_server_bios_rescue(migrate=False)

    def test_uefi_server_bios_rescue_live_migrate_unrescue(self):
        self._uefi_server_bios_rescue(migrate=True)

    def test_secure_boot_server_bios_rescue_live_migrate_unrescue(self):
        self._uefi_server_bios_rescue(migrate=True, secure=True)

    def test_uefi_server_unrescued_then_hard_rebooted_keeps_files(self):
        server, before = self._uefi_server_bios_rescue(migrate=True)
        self._reboot_server(server, hard=True)
        self._assert_uefi('dest', server, before)

    def test_bios_q35_server_bios_rescue_keeps_machine_type(self):
        server = self._boot(uuids.bios_q35_image)
        self._assert_machine_type(server, 'q35')
        server = self._rescue_with(server, uuids.bios_rescue)
        self.assertEqual(
            'q35', self._sysmeta(server).get('image_hw_machine_type'))
        server = self._live_migrate(server)
        server = self._unrescue_server(server)
        self._assert_bios('dest', server)
        self._assert_machine_type(server, 'q35')

    def test_rescued_by_nova_before_the_package_keeps_machine_type(self):
        """nova's own rescue recorded the rescue domain's machine type (the
        host default, pc) as the q35 server's own.
        """
        self.flags(hw_machine_type=['x86_64=pc'], group='libvirt')
        self._drivers['src'] = base.STOCK_DRIVER
        self.restart_compute_service('src')
        server = self._boot(uuids.bios_q35_image)
        self._assert_machine_type(server, 'q35')
        # (nova's harness makes no instance directory; a real host has it)
        os.makedirs(self._instance_dir(server), exist_ok=True)
        server = self._rescue_with(server, uuids.bios_rescue)
        self.assertEqual(
            'pc', self._sysmeta(server).get('image_hw_machine_type'))
        # nova saved the running domain; real libvirt writes the machine
        # type it runs (nova's fake libvirt always says pc-0.12).
        unrescue_xml = os.path.join(self._instance_dir(server),
                                    'unrescue.xml')
        tree = etree.parse(unrescue_xml)
        tree.find('./os/type').set('machine', 'pc-q35-2.11')
        tree.write(unrescue_xml)

        self._drivers['src'] = base.RESCUE_LM_DRIVER
        self.restart_compute_service('src')
        server = self._unrescue_server(server)
        self._assert_machine_type(server, 'pc-q35-2.11')
        self.assertFalse(os.path.exists(unrescue_xml))

    # BIOS server, UEFI (legacy) rescue image

    def _move_and_unrescue(self, server, migrate):
        """Live-migrate the rescued server to dest if asked, unrescue it;
        return the host it ends on and the server.
        """
        host = 'src'
        if migrate:
            server = self._live_migrate(server)
            host = 'dest'
        return host, self._unrescue_server(server)

    def _bios_server_uefi_rescue(self, rescue_image, migrate):
        server = self._boot(uuids.bios_image)
        self.assertEqual((None, None, None, None),
                         self._firmware('src', server))
        server = self._rescue_with(server, rescue_image)
        secure = rescue_image == uuids.uefi_sb_rescue
        # The rescue image asked for UEFI: the rescue domain has it.
        self.assertEqual(
            (CODE_SECBOOT if secure else CODE, 'pflash',
             'yes' if secure else 'no', self._nvram_of(server)),
            self._firmware('src', server))
        self.assertEqual({self._nvram_of(server)}, self.nvram_files['src'])
        self.assertEqual(self._nvram_of(server),
                         self._sysmeta(server)['rescue_lm_nvram'])
        host, server = self._move_and_unrescue(server, migrate)
        self._assert_bios(host, server)
        # libvirt kept no NVRAM file of the rescue where it was unrescued
        self.assertEqual(set(), self.nvram_files[host])
        self.assertNotIn('rescue_lm_nvram', self._sysmeta(server))

    def test_bios_server_uefi_rescue_unrescue(self):
        self._bios_server_uefi_rescue(uuids.uefi_rescue, migrate=False)

    def test_bios_server_uefi_rescue_live_migrate_unrescue(self):
        self._bios_server_uefi_rescue(uuids.uefi_rescue, migrate=True)

    def test_bios_server_secure_boot_rescue_live_migrate_unrescue(self):
        self._bios_server_uefi_rescue(uuids.uefi_sb_rescue, migrate=True)

    # UEFI server, UEFI rescue image (same or other secure boot)

    def _uefi_server_uefi_rescue(self, image, rescue_image, migrate=True):
        server = self._boot(image)
        before = self._firmware('src', server)
        server = self._rescue_with(server, rescue_image)
        rescue_secure = rescue_image == uuids.uefi_sb_rescue
        # The rescue domain has the rescue image's secure boot and the
        # server's NVRAM file (the same name).
        self.assertEqual(
            (CODE_SECBOOT if rescue_secure else CODE, 'pflash',
             'yes' if rescue_secure else 'no', before[3]),
            self._firmware('src', server))
        self.assertNotIn('rescue_lm_nvram', self._sysmeta(server))
        host, server = self._move_and_unrescue(server, migrate)
        self._assert_uefi(host, server, before,
                          secure=image == uuids.uefi_sb_image)
        self.assertEqual({before[3]}, self.nvram_files[host])

    def test_uefi_server_uefi_rescue_live_migrate_unrescue(self):
        self._uefi_server_uefi_rescue(uuids.uefi_image, uuids.uefi_rescue)

    def test_uefi_server_secure_boot_rescue_live_migrate_unrescue(self):
        self._uefi_server_uefi_rescue(uuids.uefi_image,
                                      uuids.uefi_sb_rescue)

    def test_secure_boot_server_uefi_rescue_live_migrate_unrescue(self):
        self._uefi_server_uefi_rescue(uuids.uefi_sb_image,
                                      uuids.uefi_rescue)

    # Stable-device rescue: the rescue domain is built from the server's
    # image, whatever the rescue image's firmware.

    def _stable_device(self, image, secure=False):
        server = self._boot(image)
        before = self._firmware('src', server)
        server = self._rescue_with(server, uuids.stable_bios_rescue)
        self.assertEqual('stable-device',
                         self._sysmeta(server)['rescue_lm_mode'])
        self.assertEqual(before, self._firmware('src', server))
        server = self._live_migrate(server)
        self.assertEqual(before, self._firmware('dest', server))
        server = self._unrescue_server(server)
        self.assertEqual(before, self._firmware('dest', server))
        return before

    def test_stable_device_rescue_of_uefi_server(self):
        before = self._stable_device(uuids.uefi_image)
        self.assertEqual('pflash', before[1])

    def test_stable_device_rescue_of_secure_boot_server(self):
        before = self._stable_device(uuids.uefi_sb_image)
        self.assertEqual(CODE_SECBOOT, before[0])

    def test_stable_device_rescue_of_bios_server(self):
        before = self._stable_device(uuids.bios_image)
        self.assertEqual((None, None, None, None), before)

    def _sysmeta(self, server):
        return objects.Instance.get_by_uuid(
            self.ctxt, server['id'],
            expected_attrs=['system_metadata']).system_metadata
