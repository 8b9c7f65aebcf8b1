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

"""What a rescue used is recorded in system_metadata, not on the host."""

from nova import context as nova_context
from nova import objects
from nova import test
from oslo_utils.fixture import uuidsentinel as uuids

from nova_rescue_lm.virt.libvirt import rescue_record as libvirt_rescue
from nova_rescue_lm.virt import rescue_record
from tests.unit import fakes


class RecordTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        self.instance = fakes.instance(
            self.context, kernel_id=uuids.kernel, ramdisk_id=uuids.ramdisk,
            system_metadata={'image_base_image_ref': uuids.image,
                             'image_hw_disk_bus': 'virtio',
                             'owner_user_name': 'alice'})

    def _record(self, **image):
        libvirt_rescue.record(self.instance,
                             objects.ImageMeta.from_dict(image))
        return rescue_record.read(self.instance)

    def test_legacy_rescue_with_a_rescue_image(self):
        self.assertEqual({
            'rescue_lm_image_ref': uuids.rescue_image,
            'rescue_lm_kernel_id': uuids.kernel,
            'rescue_lm_ramdisk_id': uuids.ramdisk,
            'rescue_lm_mode': 'legacy',
        }, self._record(id=uuids.rescue_image, properties={}))

    def test_stable_device_rescue_by_device(self):
        record = self._record(id=uuids.rescue_image,
                              properties={'hw_rescue_device': 'cdrom'})
        self.assertEqual('stable-device', record['rescue_lm_mode'])

    def test_stable_device_rescue_by_bus(self):
        record = self._record(id=uuids.rescue_image,
                              properties={'hw_rescue_bus': 'usb'})
        self.assertEqual('stable-device', record['rescue_lm_mode'])

    def test_other_image_properties_are_legacy(self):
        record = self._record(id=uuids.rescue_image,
                              properties={'hw_disk_bus': 'scsi'})
        self.assertEqual('legacy', record['rescue_lm_mode'])

    def test_image_falls_back_to_config_then_server_image(self):
        self.assertEqual(uuids.image, self._record()['rescue_lm_image_ref'])
        self.flags(rescue_image_id=uuids.conf_image, group='libvirt')
        self.assertEqual(uuids.conf_image,
                         self._record()['rescue_lm_image_ref'])
        self.assertEqual(uuids.rescue_image,
                         self._record(id=uuids.rescue_image)
                         ['rescue_lm_image_ref'])

    def test_configured_kernel_and_ramdisk_win(self):
        self.flags(rescue_kernel_id=uuids.conf_kernel,
                   rescue_ramdisk_id=uuids.conf_ramdisk, group='libvirt')
        record = self._record(id=uuids.rescue_image)
        self.assertEqual(uuids.conf_kernel, record['rescue_lm_kernel_id'])
        self.assertEqual(uuids.conf_ramdisk, record['rescue_lm_ramdisk_id'])

    def test_no_kernel_or_ramdisk_recorded_as_absent(self):
        self.instance.kernel_id = ''
        self.instance.ramdisk_id = None
        record = self._record(id=uuids.rescue_image)
        self.assertEqual({'rescue_lm_image_ref', 'rescue_lm_mode'},
                         set(record))

    def test_a_new_record_replaces_the_old_one(self):
        self._record(id=uuids.first)
        self.instance.kernel_id = ''
        record = self._record(id=uuids.second,
                              properties={'hw_rescue_bus': 'virtio'})
        self.assertEqual(uuids.second, record['rescue_lm_image_ref'])
        self.assertNotIn('rescue_lm_kernel_id', record)
        self.assertEqual('stable-device', record['rescue_lm_mode'])

    def test_record_does_not_leak_into_image_meta_or_traits(self):
        before = self.instance.image_meta.obj_to_primitive()
        self._record(id=uuids.rescue_image,
                     properties={'hw_rescue_device': 'disk'})
        self.assertEqual(before, self.instance.image_meta.obj_to_primitive())
        for key in rescue_record.read(self.instance):
            self.assertFalse(key.startswith(('image_', 'trait:')), key)

    def test_other_system_metadata_is_kept(self):
        self._record(id=uuids.rescue_image)
        rescue_record.clear(self.instance)
        self.assertEqual({'image_base_image_ref': uuids.image,
                          'image_hw_disk_bus': 'virtio',
                          'owner_user_name': 'alice'},
                         self.instance.system_metadata)
        self.assertEqual({}, rescue_record.read(self.instance))

    def test_clear_without_a_record(self):
        rescue_record.clear(self.instance)
        self.assertEqual(3, len(self.instance.system_metadata))

    def test_nvram_only_the_rescue_domain_uses(self):
        self._record(id=uuids.rescue_image)
        libvirt_rescue.record_nvram(self.instance, None, '/nvram/i_VARS.fd')
        self.assertEqual('/nvram/i_VARS.fd',
                         libvirt_rescue.rescue_only_nvram(self.instance))
        rescue_record.clear(self.instance)
        self.assertIsNone(libvirt_rescue.rescue_only_nvram(self.instance))

    def test_nvram_the_server_uses_too_is_not_recorded(self):
        for own, rescue in (('/nvram/i_VARS.fd', '/nvram/i_VARS.fd'),
                            ('/nvram/i_VARS.fd', None), (None, None)):
            self._record(id=uuids.rescue_image)
            libvirt_rescue.record_nvram(self.instance, own, rescue)
            self.assertIsNone(libvirt_rescue.rescue_only_nvram(self.instance))
