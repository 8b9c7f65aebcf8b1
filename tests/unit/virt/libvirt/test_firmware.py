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

"""A rescue must not change the machine type recorded for the server.

When the image gives no ``hw_machine_type``, nova's libvirt driver records
the machine type it builds a domain with in ``image_hw_machine_type``. For a
legacy rescue domain that is the rescue image's; unrescue, a hard reboot
rebuilt from ``instance.image_meta``, would then give it to the server (a
UEFI secure-boot q35 server rescued with a plain image would come back on
'pc' and fail with SecureBootNotSupported).

The firmware itself needs nothing from the package: nova compares the
rescue domain's secure-boot flags (unset for a BIOS domain) with the
server's and re-selects the firmware when they differ, and a BIOS server
never reads the old domain's loader; see
tests/functional/test_rescue_firmware.py.
"""

import os
from unittest import mock

import fixtures
from lxml import etree
from nova import objects
from nova import test
from nova.virt.libvirt import driver as nova_driver
from oslo_utils.fixture import uuidsentinel as uuids

from tests.unit.virt.libvirt import test_driver

KEY = 'image_hw_machine_type'


class RescueMachineTypeTest(test_driver.RescueTest):
    """Real rescues through nova's code; only the host is faked."""

    def _machine_type_of_rescue_domain(self):
        xml = self.create_guest.call_args.args[1]
        return etree.fromstring(xml).find('./os/type').get('machine')

    def test_legacy_rescue_keeps_the_servers_machine_type(self):
        self.instance.system_metadata[KEY] = 'q35'
        self._rescue()
        # The rescue domain runs on the rescue image's (nova's default).
        self.assertEqual('pc', self._machine_type_of_rescue_domain())
        self.assertEqual('q35', self.instance.system_metadata[KEY])
        self.assertEqual('legacy', self._record()['rescue_lm_mode'])

    def test_uefi_server_rescued_with_a_bios_image(self):
        self.instance.system_metadata.update({
            KEY: 'q35', 'image_hw_firmware_type': 'uefi',
            'image_os_secure_boot': 'required'})
        self._rescue()
        xml = etree.fromstring(self.create_guest.call_args.args[1])
        self.assertIsNone(xml.find('./os').get('firmware'))
        self.assertEqual('q35', self.instance.system_metadata[KEY])
        image_meta = objects.ImageMeta.from_instance(self.instance)
        self.assertEqual('q35', image_meta.properties.hw_machine_type)
        self.assertEqual('uefi', image_meta.properties.hw_firmware_type)

    def test_rescue_image_with_a_machine_type(self):
        self.instance.system_metadata[KEY] = 'q35'
        self._rescue(properties={'hw_machine_type': 'pc'})
        self.assertEqual('pc', self._machine_type_of_rescue_domain())
        self.assertEqual('q35', self.instance.system_metadata[KEY])

    def test_unrecorded_machine_type_stays_unrecorded(self):
        """Left for the unrescue, which records the server's own."""
        # The running domain exists (here, nova would otherwise build the
        # server's own XML for unrescue.xml and record its machine type).
        self.useFixture(fixtures.MockPatchObject(
            self.drvr, '_get_existing_domain_xml', return_value='<domain/>'))
        self.assertNotIn(KEY, self.instance.system_metadata)
        self._rescue()
        self.assertEqual('pc', self._machine_type_of_rescue_domain())
        self.assertNotIn(KEY, self.instance.system_metadata)

    def test_failed_rescue_keeps_the_servers_machine_type(self):
        self.instance.system_metadata[KEY] = 'q35'
        self.create_guest.side_effect = test.TestingException('boom')
        self.assertRaises(test.TestingException, self._rescue)
        self.assertEqual('q35', self.instance.system_metadata[KEY])

    def test_stock_nova_overwrites_it(self):
        """What the override is for; fails once nova stops doing it."""
        drvr = self._driver(nova_driver.LibvirtDriver)
        drvr._create_guest = mock.Mock()
        os.makedirs(self.instance_dir, exist_ok=True)
        self.instance.system_metadata[KEY] = 'q35'
        drvr.rescue(self.context, self.instance,
                    self.instance.get_network_info(),
                    objects.ImageMeta.from_dict({'id': uuids.rescue_image}),
                    'rescue-password', None, objects.ShareMappingList())
        self.assertEqual('pc', self.instance.system_metadata[KEY])


class GetGuestXmlTest(test_driver.DriverTestBase):
    """The override around nova's _get_guest_xml, nova's side mocked."""

    def setUp(self):
        super().setUp()
        self.drvr = self._driver()
        self.instance = mock.Mock(system_metadata={KEY: 'q35', 'x': 'y'})
        patcher = mock.patch.object(
            nova_driver.LibvirtDriver, '_get_guest_xml',
            side_effect=self._nova_records)
        self.nova = patcher.start()
        self.addCleanup(patcher.stop)

    def _nova_records(self, context, instance, *args, **kwargs):
        instance.system_metadata[KEY] = 'pc'
        return '<domain/>'

    def _call(self, *args, **kwargs):
        return self.drvr._get_guest_xml(
            'ctxt', self.instance, 'nw', 'disk_info', 'image_meta',
            *args, **kwargs)

    def test_not_a_rescue_records_as_nova_does(self):
        self.assertEqual('<domain/>', self._call(block_device_info='bdi'))
        self.assertEqual('pc', self.instance.system_metadata[KEY])
        self.nova.assert_called_once_with(
            'ctxt', self.instance, 'nw', 'disk_info', 'image_meta',
            rescue=None, block_device_info='bdi')

    def test_rescue_keeps_the_record(self):
        rescue = {'image_id': uuids.rescue_image}
        self.assertEqual('<domain/>', self._call(
            rescue=rescue, block_device_info=None, old_guest=None))
        self.assertEqual({KEY: 'q35', 'x': 'y'},
                         self.instance.system_metadata)
        self.nova.assert_called_once_with(
            'ctxt', self.instance, 'nw', 'disk_info', 'image_meta',
            rescue=rescue, block_device_info=None, old_guest=None)

    def test_rescue_given_positionally(self):
        self._call({'image_id': uuids.rescue_image})
        self.assertEqual('q35', self.instance.system_metadata[KEY])

    def test_rescue_without_a_record_leaves_none(self):
        del self.instance.system_metadata[KEY]
        self._call(rescue={'image_id': uuids.rescue_image})
        self.assertEqual({'x': 'y'}, self.instance.system_metadata)

    def test_rescue_failing_keeps_the_record(self):
        def fail(context, instance, *args, **kwargs):
            instance.system_metadata[KEY] = 'pc'
            raise test.TestingException('boom')
        self.nova.side_effect = fail
        self.assertRaises(test.TestingException, self._call,
                          rescue={'image_id': uuids.rescue_image})
        self.assertEqual('q35', self.instance.system_metadata[KEY])

    def test_other_keys_nova_writes_are_kept(self):
        def more(context, instance, *args, **kwargs):
            instance.system_metadata.update({KEY: 'pc', 'other': 'kept'})
        self.nova.side_effect = more
        self._call(rescue={'image_id': uuids.rescue_image})
        self.assertEqual({KEY: 'q35', 'x': 'y', 'other': 'kept'},
                         self.instance.system_metadata)
