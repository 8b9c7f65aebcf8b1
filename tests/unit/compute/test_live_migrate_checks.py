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

"""The rescued live-migrate stack keeps every nova check but the state one."""

import functools
import inspect
from unittest import mock

from nova.compute import api as compute_api
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception as nova_exception
from nova import test

from nova_rescue_lm.compute import live_migrate_checks
from nova_rescue_lm.compute import rescued_stack
from nova_rescue_lm import nova_shape
from tests.unit import fakes

BODY = inspect.unwrap(compute_api.API.live_migrate)


def nova_decorators():
    """nova 34's own stack of live_migrate, innermost first."""
    return live_migrate_checks.nova_decorators(
        compute_api.check_instance_state(
            vm_state=[vm_states.ACTIVE, vm_states.PAUSED]))


def stack(decorators, func=BODY):
    return rescued_stack.apply(decorators, func)


def extra_layer(func):
    @functools.wraps(func)
    def inner(*args, **kwargs):
        return func(*args, **kwargs)
    return inner


class StackShapeTest(test.NoDBTestCase):
    """nova's stack is compared with nova 34.0.0's, arguments included, and
    the rescued stack with nova's.
    """

    def assertStockDiffers(self, stock, rescued_too=True):
        found = nova_shape.compare_stack('live_migrate', stock,
                                         nova_shape.LIVE_MIGRATE_STACK)
        self.assertEqual(1, len(found))
        self.assertIn('the decorators of live_migrate are', found[0])
        if rescued_too:
            # the rescued stack no longer mirrors that nova's either
            self.assertNotEqual([], live_migrate_checks.differences(stock))

    def test_installed_nova_is_nova_34s_shape(self):
        self.assertEqual([], nova_shape.compare_stack(
            'live_migrate', compute_api.API.live_migrate,
            nova_shape.LIVE_MIGRATE_STACK))
        self.assertEqual([], nova_shape.compare_stack(
            'live_migrate', stack(nova_decorators()),
            nova_shape.LIVE_MIGRATE_STACK))
        self.assertEqual([], live_migrate_checks.differences())

    def test_a_missing_lock_check(self):
        decorators = nova_decorators()
        del decorators[1]
        self.assertStockDiffers(stack(decorators))

    def test_a_missing_or_extra_outer_check(self):
        self.assertStockDiffers(stack(nova_decorators()[:-1]))
        self.assertStockDiffers(stack(nova_decorators() + [extra_layer]))

    def test_reordered_checks(self):
        decorators = nova_decorators()
        decorators[1], decorators[2] = decorators[2], decorators[1]
        self.assertStockDiffers(stack(decorators))

    def test_changed_arguments(self):
        """What comparing code objects alone let through."""
        for index, changed in (
                (0, compute_api.check_instance_state(
                    vm_state=[vm_states.ACTIVE])),
                (0, compute_api.check_instance_state(
                    vm_state=[vm_states.ACTIVE, vm_states.PAUSED],
                    task_state=None)),
                (5, compute_api.reject_vdpa_instances(
                    'live-migration', until=64)),
                (4, compute_api.block_accelerators(until_service=70))):
            decorators = nova_decorators()
            decorators[index] = changed
            # (the rescued stack has its own state list)
            self.assertStockDiffers(stack(decorators),
                                    rescued_too=index != 0)

    def test_another_body(self):
        self.assertNotEqual([], live_migrate_checks.differences(
            stack(nova_decorators(), compute_api.API.live_migrate_abort)))

    def test_rescued_stack_differs_only_in_the_state_check(self):
        built = nova_shape.stack(
            live_migrate_checks.rescued_live_migrate(mock.Mock()))
        stock = nova_shape.stack(compute_api.API.live_migrate)
        self.assertEqual(stock[:-1], built[:-2])
        self.assertEqual(dict(stock[-1][1], vm_state=['rescued']),
                         built[-2][1])


class RescuedStackTest(test.NoDBTestCase):
    """Order of the checks in the stack built for rescued servers."""

    def setUp(self):
        super().setUp()
        self.context = nova_context.RequestContext(
            'fake-user', 'fake-project', roles=['member'])
        self.instance = fakes.instance(self.context)
        self.lm = self.useFixture(fakes.LiveMigrationBoundaries(
            fakes.request_spec(self.instance)))
        self.check = mock.Mock(side_effect=test.TestingException)
        self.built = live_migrate_checks.rescued_live_migrate(self.check)
        self.api = compute_api.API()

    def _call(self):
        return self.built(self.api, self.context, self.instance, None, None,
                          'some-host')

    def test_only_rescued_servers(self):
        for state in (vm_states.ACTIVE, vm_states.PAUSED, vm_states.STOPPED):
            self.instance.vm_state = state
            self.assertRaises(nova_exception.InstanceInvalidState,
                              self._call)
        self.check.assert_not_called()

    def test_capability_check_runs_after_nova_checks(self):
        self.instance.locked = True
        self.assertRaises(nova_exception.InstanceIsLocked, self._call)
        self.instance.locked = False
        self.instance.flavor.extra_specs = {'accel:device_profile': 'dp'}
        self.assertRaises(nova_exception.ForbiddenWithAccelerators,
                          self._call)
        self.check.assert_not_called()

    def test_capability_check_runs_before_the_state_changes(self):
        self.assertRaises(test.TestingException, self._call)
        self.check.assert_called_once_with(
            self.api, self.context, self.instance, 'some-host')
        self.assertIsNone(self.instance.task_state)
        self.assertEqual([], self.lm.saved_task_states)
        self.assertEqual([], self.lm.sent)
