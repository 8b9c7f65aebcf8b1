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

"""The rescued evacuate keeps nova's checks; only the destination is
asked about the capability, and only when the source is really down.
"""

import inspect
from unittest import mock

import fixtures
from nova.compute import api as compute_api
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception as nova_exception
from nova import test
from oslo_utils.fixture import uuidsentinel as uuids

from nova_rescue_lm.capability import stats_marker as capability_marker
from nova_rescue_lm.compute import capability
from nova_rescue_lm.compute import evacuate_checks
from nova_rescue_lm.compute import rescued_stack
from nova_rescue_lm import exception
from nova_rescue_lm import nova_shape
from tests.unit import fakes


def stock_decorators():
    """nova 34's own stack of evacuate, innermost first."""
    return evacuate_checks.nova_decorators(
        compute_api.check_instance_state(
            vm_state=[vm_states.ACTIVE, vm_states.STOPPED, vm_states.ERROR],
            task_state=None))


class StackShapeTest(test.NoDBTestCase):

    def _stock(self, decorators):
        return rescued_stack.apply(
            decorators, inspect.unwrap(
                compute_api.API.evacuate))

    def test_installed_nova_is_nova_34s_shape(self):
        for func in (compute_api.API.evacuate,
                     self._stock(stock_decorators())):
            self.assertEqual([], nova_shape.compare_stack(
                'evacuate', func, nova_shape.EVACUATE_STACK))
        self.assertEqual([], evacuate_checks.differences())

    def test_a_changed_check_switches_it_off(self):
        for index, changed in (
                (1, compute_api.block_accelerators(until_service=70)),
                (2, compute_api.reject_vtpm_instances('rebuild'))):
            decorators = stock_decorators()
            decorators[index] = changed
            stock = self._stock(decorators)
            self.assertNotEqual([], nova_shape.compare_stack(
                'evacuate', stock, nova_shape.EVACUATE_STACK))
            self.assertNotEqual([], evacuate_checks.differences(stock))
        stock = self._stock(stock_decorators()[:-1])
        self.assertNotEqual([], evacuate_checks.differences(stock))

    def test_rescued_stack_differs_only_in_the_state_check(self):
        built = nova_shape.stack(
            evacuate_checks.rescued_evacuate(mock.Mock()))
        stock = nova_shape.stack(compute_api.API.evacuate)
        self.assertEqual(stock[:-1], built[:-2])
        self.assertEqual(dict(stock[-1][1], vm_state=['rescued']),
                         built[-2][1])


class RescuedStackTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.RequestContext(
            'fake-user', 'fake-project', roles=['admin'])
        self.instance = fakes.instance(self.context)
        self.check = mock.Mock(side_effect=test.TestingException)
        self.built = evacuate_checks.rescued_evacuate(self.check)
        self.api = compute_api.API()
        # nova's checks read the share mappings and the ports
        self.useFixture(fakes.LiveMigrationBoundaries(
            fakes.request_spec(self.instance)))
        self.save = self.useFixture(fixtures.MockPatch(
            'nova.objects.Instance.save')).mock

    def _call(self):
        return self.built(self.api, self.context, self.instance, 'dest',
                          None, target_state=vm_states.STOPPED)

    def test_only_rescued_servers(self):
        for state in (vm_states.ACTIVE, vm_states.STOPPED, vm_states.ERROR):
            self.instance.vm_state = state
            self.assertRaises(nova_exception.InstanceInvalidState,
                              self._call)
        self.check.assert_not_called()

    def test_capability_check_after_nova_s_checks_before_any_change(self):
        self.instance.flavor.extra_specs = {'accel:device_profile': 'dp'}
        with mock.patch('nova.objects.service.get_minimum_version_all_cells',
                        return_value=1):
            self.assertRaises(nova_exception.ForbiddenWithAccelerators,
                              self._call)
        self.check.assert_not_called()
        self.instance.flavor.extra_specs = {}
        self.assertRaises(test.TestingException, self._call)
        self.check.assert_called_once_with(
            self.api, self.context, self.instance, 'dest')
        self.save.assert_not_called()
        self.assertIsNone(self.instance.task_state)


class CheckDestinationTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.RequestContext(
            'fake-user', 'fake-project', roles=['admin'], is_admin=True)
        self.nodes = self.useFixture(fakes.ComputeNodes())
        self.placement = self.useFixture(
            fakes.Placement(self.nodes.all_capable))
        self.instance = fakes.instance(self.context)
        self.api = mock.Mock()
        self.api.servicegroup_api.service_is_up.return_value = False
        self.useFixture(fixtures.MockPatch(
            'nova.objects.Service.get_by_compute_host'))

    def _check(self, host_name=fakes.DEST_HOST):
        capability.check_destination(self.api, self.context, self.instance,
                                     host_name)

    def test_only_the_destination_is_asked(self):
        self._check()
        self.assertCountEqual([uuids.dest_node_a, uuids.dest_node_b],
                              self.placement.asked)

    def test_no_host_asks_nothing(self):
        self._check(None)
        self.assertEqual([], self.placement.asked)

    def test_a_source_that_is_up_is_left_to_nova(self):
        self.api.servicegroup_api.service_is_up.return_value = True
        self.placement.traits[uuids.dest_node_b] = set()
        self._check()
        self.assertEqual([], self.placement.asked)

    def test_incapable_destination(self):
        self.placement.traits[uuids.dest_node_b] = set()
        error = self.assertRaises(
            exception.EvacuationDestinationNotCapable, self._check)
        self.assertIn('cannot take rescued servers', str(error))

    def test_a_release_that_does_not_end_the_rescue_is_refused(self):
        """A capable node of 0.1 (rolling upgrade), or XenAPI."""
        self.nodes.dest[1].stats = capability_marker(True)
        error = self.assertRaises(
            exception.EvacuationDestinationNotCapable, self._check)
        self.assertIn('does not end a rescue', str(error))

    def test_stale_source_does_not_matter(self):
        """Its stats are as stale as a dead host's are."""
        self.placement.traits[uuids.source_node] = set()
        self._check()

    def test_unknown_host_is_nova_s_error(self):
        self.assertRaises(nova_exception.ComputeHostNotFound,
                          self._check, 'nowhere')
        self.assertEqual([], self.placement.asked)
