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

"""The libvirt driver: capability, rescue kept in the DB, unrescue rebuilt."""

import os
from unittest import mock

import fixtures
from nova import context as nova_context
from nova import objects
from nova import test
from nova.tests import fixtures as nova_fixtures
from nova.tests.unit import fake_block_device
from nova.tests.unit import fake_network
from nova.virt import fake
from nova.virt.libvirt import driver as nova_driver
from oslo_utils.fixture import uuidsentinel as uuids

from nova_rescue_lm.virt.libvirt import driver
from tests.unit import fakes

CAPABILITY = 'supports_live_migrate_rescued'


class DriverTestBase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.flags(sysinfo_serial='none', group='libvirt')
        self.instances_path = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=self.instances_path)
        self.useFixture(nova_fixtures.LibvirtFixture())
        self.useFixture(nova_fixtures.CGroupsFixture())
        self.context = nova_context.RequestContext(
            'fake-user', 'fake-project', auth_token='token')

    def _driver(self, cls=driver.LibvirtDriver):
        return cls(fake.FakeVirtAPI(), read_only=True)


class CapabilityTest(DriverTestBase):

    def test_capable_by_default(self):
        stock = self._driver(nova_driver.LibvirtDriver).capabilities
        ours = self._driver().capabilities
        self.assertIs(True, ours[CAPABILITY])
        self.assertNotIn(CAPABILITY, stock)
        self.assertEqual(stock, {k: v for k, v in ours.items()
                                 if k != CAPABILITY})

    def test_capability_follows_the_option(self):
        self.flags(live_migrate_rescued=False, group='rescue_lm')
        self.assertIs(False, self._driver().capabilities[CAPABILITY])

    def test_trait_reported_true(self):
        stock = self._driver(nova_driver.LibvirtDriver)
        traits = self._driver().capabilities_as_traits()
        self.assertIs(True, traits[fakes.TRAIT])
        self.assertEqual(dict(stock.capabilities_as_traits(),
                              **{fakes.TRAIT: True}), traits)

    def test_trait_reported_false_when_disabled(self):
        """Reported as False (not omitted) so placement drops the trait."""
        self.flags(live_migrate_rescued=False, group='rescue_lm')
        traits = self._driver().capabilities_as_traits()
        self.assertIn(fakes.TRAIT, traits)
        self.assertIs(False, traits[fakes.TRAIT])


class RescueTest(DriverTestBase):

    def setUp(self):
        super().setUp()
        for name, value in (('_get_existing_guest_config', None),
                            ('_get_all_assigned_mediated_devices', {}),
                            ('_set_host_enabled', None),
                            ('_build_device_metadata', None)):
            self.useFixture(fixtures.MockPatchObject(
                nova_driver.LibvirtDriver, name, return_value=value))
        self.useFixture(fixtures.MockPatch(
            'nova.privsep.utils.supports_direct_io', return_value=True))
        self.backend = self.useFixture(
            nova_fixtures.LibvirtImageBackendFixture())
        self.drvr = self._driver()
        self.instance = fakes.instance(
            self.context, vm_state='active', kernel_id=uuids.kernel,
            ramdisk_id=uuids.ramdisk, config_drive='',
            system_metadata={'image_disk_format': 'qcow2',
                             'owner_user_name': 'alice'})
        self.instance.info_cache = objects.InstanceInfoCache(
            network_info=fake_network.fake_get_instance_nw_info(self))
        self.instance_dir = os.path.join(self.instances_path,
                                         self.instance.uuid)
        self.unrescue_xml = os.path.join(self.instance_dir, 'unrescue.xml')
        self.xml_existed = []
        self.create_guest = self.useFixture(fixtures.MockPatchObject(
            self.drvr, '_create_guest', side_effect=self._create_guest)).mock

    def _create_guest(self, context, xml, instance, **kwargs):
        self.xml_existed.append(os.path.exists(self.unrescue_xml))

    def _rescue(self, **image_meta):
        image_meta.setdefault('id', uuids.rescue_image)
        self.drvr.rescue(self.context, self.instance,
                         self.instance.get_network_info(),
                         objects.ImageMeta.from_dict(image_meta),
                         'rescue-password', None, objects.ShareMappingList())

    def _record(self):
        return {k: v for k, v in self.instance.system_metadata.items()
                if k.startswith('rescue_lm_')}

    def test_rescue_records_and_leaves_no_unrescue_xml(self):
        self._rescue()
        self.create_guest.assert_called_once()
        self.assertEqual([True], self.xml_existed)  # nova did write it
        self.assertFalse(os.path.exists(self.unrescue_xml))
        self.assertEqual({
            'rescue_lm_image_ref': uuids.rescue_image,
            'rescue_lm_kernel_id': uuids.kernel,
            'rescue_lm_ramdisk_id': uuids.ramdisk,
            'rescue_lm_mode': 'legacy',
        }, self._record())
        self.assertEqual('alice',
                         self.instance.system_metadata['owner_user_name'])
        self.assertIn('disk.rescue', self.backend.created_disks)

    def test_stable_device_rescue_is_recorded(self):
        self.useFixture(fixtures.MockPatch(
            'nova.objects.ImageMeta.from_image_ref',
            return_value=objects.ImageMeta.from_dict(
                {'id': uuids.image, 'disk_format': 'qcow2'})))
        self._rescue(properties={'hw_rescue_device': 'disk',
                                 'hw_rescue_bus': 'virtio'})
        self.assertEqual('stable-device', self._record()['rescue_lm_mode'])
        self.assertFalse(os.path.exists(self.unrescue_xml))

    def test_rescue_creates_a_missing_instance_dir(self):
        self.assertFalse(os.path.exists(self.instance_dir))
        self._rescue()
        self.assertTrue(os.path.isdir(self.instance_dir))
        self.assertFalse(os.path.exists(self.unrescue_xml))

    def test_failed_rescue_clears_the_record_and_unrescue_xml(self):
        self.instance.system_metadata['rescue_lm_image_ref'] = uuids.stale
        self.create_guest.side_effect = test.TestingException('boom')
        self.assertRaises(test.TestingException, self._rescue)
        self.assertFalse(os.path.exists(self.unrescue_xml))
        self.assertEqual({}, self._record())
        self.assertEqual('alice',
                         self.instance.system_metadata['owner_user_name'])

    def test_rescue_failing_before_unrescue_xml(self):
        self.useFixture(fixtures.MockPatchObject(
            self.drvr, '_get_existing_domain_xml',
            side_effect=test.TestingException('no domain')))
        self.assertRaises(test.TestingException, self._rescue)
        self.assertFalse(os.path.exists(self.unrescue_xml))
        self.assertEqual({}, self._record())


class UnrescueTest(DriverTestBase):

    def setUp(self):
        super().setUp()
        self.drvr = self._driver()
        self.hard_reboot = self.useFixture(fixtures.MockPatchObject(
            self.drvr, '_hard_reboot')).mock
        self.instance = fakes.instance(
            self.context, system_metadata={
                'owner_user_name': 'alice',
                'rescue_lm_image_ref': uuids.rescue_image,
                'rescue_lm_kernel_id': uuids.kernel,
                'rescue_lm_mode': 'legacy'})
        self.instance_dir = os.path.join(self.instances_path,
                                         self.instance.uuid)
        os.makedirs(self.instance_dir)
        fakes.make_files(self.instance_dir, [
            'unrescue.xml', 'disk.rescue', 'kernel.rescue', 'ramdisk.rescue',
            'disk.config.rescue', 'extra.rescue/', 'disk', 'disk.config',
            'disk.eph0', 'console.log', 'disk.info'])
        self.bdms = self._bdms()
        self.useFixture(fixtures.MockPatch(
            'nova.objects.BlockDeviceMappingList.get_by_instance_uuid',
            return_value=self.bdms))
        self.shares = objects.ShareMappingList(objects=[objects.ShareMapping(
            instance_uuid=self.instance.uuid, share_id=uuids.share,
            status='active', tag='data', export_location='1.2.3.4:/share',
            share_proto='NFS')])
        self.useFixture(fixtures.MockPatch(
            'nova.objects.ShareMappingList.get_by_instance_uuid',
            return_value=self.shares))
        self.cyborg = self.useFixture(fixtures.MockPatch(
            'nova.accelerator.cyborg.get_client')).mock
        self.cyborg.return_value.get_arqs_for_instance.return_value = [
            {'uuid': uuids.arq, 'state': 'Bound'}]

    def _bdms(self):
        def bdm(**values):
            values.setdefault('instance_uuid', self.instance.uuid)
            return fake_block_device.fake_bdm_object(
                self.context,
                fake_block_device.FakeDbBlockDeviceDict(values))
        return objects.BlockDeviceMappingList(objects=[
            bdm(id=1, source_type='image', destination_type='local',
                image_id=uuids.image, boot_index=0, device_name='/dev/vda'),
            bdm(id=2, source_type='volume', destination_type='volume',
                volume_id=uuids.attached, device_name='/dev/vdb',
                connection_info='{"driver_volume_type": "iscsi"}'),
            bdm(id=3, source_type='volume', destination_type='volume',
                volume_id=uuids.detaching, device_name='/dev/vdc',
                connection_info=None),
            bdm(id=4, source_type='blank', destination_type='local',
                guest_format=None, device_name='/dev/vdd', volume_size=1),
        ])

    def _reboot_kwargs(self):
        self.hard_reboot.assert_called_once_with(
            self.context, self.instance, network_info=mock.ANY,
            share_info=mock.ANY, block_device_info=mock.ANY,
            accel_info=mock.ANY)
        return self.hard_reboot.call_args.kwargs

    def test_hard_reboot_rebuilt_from_the_database(self):
        self.drvr.unrescue(self.context, self.instance)
        kwargs = self._reboot_kwargs()
        self.assertEqual(self.instance.get_network_info(),
                         kwargs['network_info'])
        self.assertEqual([uuids.share],
                         [s.share_id for s in kwargs['share_info']])
        bdi = kwargs['block_device_info']
        self.assertEqual(['/dev/vdb'], [v['mount_device']
                                        for v in bdi['block_device_mapping']])
        self.assertEqual(['/dev/vdd'],
                         [e['device_name'] for e in bdi['ephemerals']])
        self.assertEqual([], kwargs['accel_info'])
        self.cyborg.assert_not_called()

    def test_accelerator_requests_for_a_device_profile(self):
        self.instance.flavor.extra_specs = {'accel:device_profile': 'fpga'}
        self.drvr.unrescue(self.context, self.instance)
        self.assertEqual([{'uuid': uuids.arq, 'state': 'Bound'}],
                         self._reboot_kwargs()['accel_info'])
        self.cyborg.return_value.get_arqs_for_instance.assert_called_once_with(
            self.instance.uuid)

    def test_removes_every_rescue_artifact_and_the_record(self):
        self.drvr.unrescue(self.context, self.instance)
        self.assertEqual(['console.log', 'disk', 'disk.config', 'disk.eph0',
                          'disk.info'], sorted(os.listdir(self.instance_dir)))
        self.assertEqual({'owner_user_name': 'alice'},
                         self.instance.system_metadata)

    def test_failed_reboot_keeps_the_rescue(self):
        self.hard_reboot.side_effect = test.TestingException('boom')
        self.assertRaises(test.TestingException, self.drvr.unrescue,
                          self.context, self.instance)
        self.assertIn('disk.rescue', os.listdir(self.instance_dir))
        self.assertEqual('legacy',
                         self.instance.system_metadata['rescue_lm_mode'])

    def test_unrescue_without_a_record(self):
        """A server rescued before the package was installed."""
        for key in list(self.instance.system_metadata):
            if key.startswith('rescue_lm_'):
                del self.instance.system_metadata[key]
        self.drvr.unrescue(self.context, self.instance)
        self.hard_reboot.assert_called_once()
        self.assertNotIn('unrescue.xml', os.listdir(self.instance_dir))
        self.assertNotIn('disk.rescue', os.listdir(self.instance_dir))
