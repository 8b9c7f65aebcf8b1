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

"""Rescued servers are scheduled to capable hosts; the DB spec is untouched."""

import fixtures
from nova.compute import vm_states
from nova import context as nova_context
from nova import objects
from nova import test
from oslo_utils.fixture import uuidsentinel as uuids

from nova_rescue_lm import capability
from nova_rescue_lm.compute import scheduling
from tests.unit import fakes


class RequireCapableDestinationTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        self.instance = fakes.instance(self.context)
        self.instance.flavor.extra_specs = {'hw:cpu_policy': 'shared'}
        self.saved = []

        def save(spec):
            self.saved.append(spec.obj_to_primitive())
        self.useFixture(fixtures.MonkeyPatch(
            'nova.objects.RequestSpec.save', save))

    def test_requires_the_trait_on_a_clone(self):
        spec = fakes.request_spec(self.instance)
        original = spec.flavor
        result = scheduling.require_capable_destination(
            self.context, self.instance, spec)
        self.assertIs(spec, result)
        self.assertEqual({'hw:cpu_policy': 'shared',
                          fakes.REQUIRED_TRAIT: 'required',
                          'capabilities:stats:' + capability.STAT: 'True'},
                         spec.flavor.extra_specs)
        self.assertIsNot(original, spec.flavor)
        self.assertEqual({'hw:cpu_policy': 'shared'}, original.extra_specs)
        self.assertEqual({'hw:cpu_policy': 'shared'},
                         self.instance.flavor.extra_specs)
        self.assertEqual([], self.saved)

    def test_heals_is_bfv_before_adding_the_trait(self):
        spec = fakes.request_spec(self.instance)
        del spec.is_bfv
        root = objects.BlockDeviceMapping(
            instance_uuid=self.instance.uuid, boot_index=0,
            source_type='volume', destination_type='volume',
            volume_id=uuids.volume, device_name='/dev/vda')
        self.useFixture(fixtures.MockPatch(
            'nova.objects.BlockDeviceMappingList.get_by_instance_uuid',
            return_value=objects.BlockDeviceMappingList(objects=[root])))
        scheduling.require_capable_destination(
            self.context, self.instance, spec)
        [saved] = self.saved
        saved = objects.RequestSpec.obj_from_primitive(saved)
        self.assertTrue(saved.is_bfv)
        self.assertNotIn(fakes.REQUIRED_TRAIT, saved.flavor.extra_specs)
        self.assertEqual('required',
                         spec.flavor.extra_specs[fakes.REQUIRED_TRAIT])

    def test_no_save_when_is_bfv_is_known(self):
        spec = fakes.request_spec(self.instance, is_bfv=False)
        scheduling.require_capable_destination(
            self.context, self.instance, spec)
        self.assertEqual([], self.saved)
        self.assertFalse(spec.is_bfv)


class ComputeTaskAPITest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        self.instance = fakes.instance(self.context)
        self.spec = fakes.request_spec(self.instance)
        self.lm = self.useFixture(fakes.LiveMigrationBoundaries(self.spec))
        self.api = scheduling.ComputeTaskAPI()

    def _live_migrate(self, request_spec):
        self.api.live_migrate_instance(
            self.context, self.instance, None, None, None,
            request_spec=request_spec, async_=True)

    def test_rescued_server_requires_the_trait(self):
        self._live_migrate(self.spec)
        [extra_specs] = self.lm.sent_extra_specs()
        self.assertEqual('required', extra_specs[fakes.REQUIRED_TRAIT])

    def test_active_server_is_scheduled_as_before(self):
        self.instance.vm_state = vm_states.ACTIVE
        self._live_migrate(self.spec)
        [extra_specs] = self.lm.sent_extra_specs()
        self.assertNotIn(fakes.REQUIRED_TRAIT, extra_specs)
