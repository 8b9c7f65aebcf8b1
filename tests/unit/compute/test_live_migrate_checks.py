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
from nova_rescue_lm import exception
from tests.unit import fakes

BODY = inspect.unwrap(compute_api.API.live_migrate)


def nova_decorators():
    """nova 34's own stack of live_migrate, innermost first."""
    return live_migrate_checks.nova_decorators(
        compute_api.check_instance_state(
            vm_state=[vm_states.ACTIVE, vm_states.PAUSED]))


def stack(decorators, func=BODY):
    return live_migrate_checks.apply(decorators, func)


def extra_layer(func):
    @functools.wraps(func)
    def inner(*args, **kwargs):
        return func(*args, **kwargs)
    return inner


class VerifyTest(test.NoDBTestCase):

    def assertRefused(self, built, **kwargs):
        err = self.assertRaises(exception.UnsupportedNovaRelease,
                                live_migrate_checks.verify, built, **kwargs)
        self.assertIn('compute.API.live_migrate does not carry the checks '
                      'of nova 34.0.0', str(err))

    def test_guard_rebuilt_stock_stack_matches_nova(self):
        live_migrate_checks.verify(compute_api.API.live_migrate)
        live_migrate_checks.verify(stack(nova_decorators()))

    def test_accepts_the_rescued_stack(self):
        built = live_migrate_checks.rescued_live_migrate(mock.Mock())
        live_migrate_checks.verify(built, inner_layers=1)

    def test_refuses_a_missing_lock_check(self):
        decorators = nova_decorators()
        del decorators[1]
        self.assertRefused(stack(decorators))

    def test_refuses_a_missing_outer_check(self):
        self.assertRefused(stack(nova_decorators()[:-1]))

    def test_refuses_an_extra_outer_layer(self):
        self.assertRefused(stack(nova_decorators() + [extra_layer]))

    def test_refuses_an_undeclared_inner_layer(self):
        self.assertRefused(stack(nova_decorators(), extra_layer(BODY)))
        built = live_migrate_checks.rescued_live_migrate(mock.Mock())
        self.assertRefused(built, inner_layers=0)

    def test_refuses_reordered_checks(self):
        decorators = nova_decorators()
        decorators[1], decorators[2] = decorators[2], decorators[1]
        self.assertRefused(stack(decorators))

    def test_refuses_another_body(self):
        self.assertRefused(stack(nova_decorators(),
                                 compute_api.API.live_migrate_abort))

    def test_refuses_when_nova_adds_a_check(self):
        built = live_migrate_checks.rescued_live_migrate(mock.Mock())
        self.assertRefused(built, inner_layers=1,
                           stock=stack(nova_decorators() + [extra_layer]))

    def test_refuses_another_nova_release(self):
        with mock.patch('importlib.metadata.version', return_value='34.1.0'):
            err = self.assertRaises(
                exception.UnsupportedNovaRelease,
                live_migrate_checks.rescued_live_migrate, mock.Mock())
        self.assertIn('found nova 34.1.0', str(err))


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
