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

"""Rescued servers are live-migrated only when the REST layer opted in."""

import threading

from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception as nova_exception
from nova import test
from oslo_utils.fixture import uuidsentinel as uuids

from nova_rescue_lm.compute import api as compute_api
from nova_rescue_lm import exception
from tests.unit import fakes


class LiveMigrateTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.RequestContext(
            'fake-user', 'fake-project', roles=['member'])
        self.nodes = self.useFixture(fakes.ComputeNodes())
        self.placement = self.useFixture(
            fakes.Placement(self.nodes.all_capable))
        self.instance = fakes.instance(self.context)
        self.lm = self.useFixture(fakes.LiveMigrationBoundaries(
            fakes.request_spec(self.instance)))
        self.api = compute_api.API()

    def _live_migrate(self, host_name=None):
        self.api.live_migrate(self.context, self.instance, None, None,
                              host_name, force=None, async_=True)

    def _assert_refused_as_rescued(self):
        err = self.assertRaises(nova_exception.InstanceInvalidState,
                                self._live_migrate)
        self.assertIn('vm_state', err.format_message())
        self.assertEqual([], self.placement.asked)
        self.assertEqual([], self.lm.sent)
        self.assertIsNone(self.instance.task_state)

    def _assert_migrating(self, trait_required):
        self.assertEqual(task_states.MIGRATING, self.instance.task_state)
        self.assertEqual([task_states.MIGRATING], self.lm.saved_task_states)
        [extra_specs] = self.lm.sent_extra_specs()
        self.assertEqual(trait_required,
                         extra_specs.get(fakes.REQUIRED_TRAIT) == 'required')

    def test_rescued_refused_without_opt_in(self):
        self._assert_refused_as_rescued()

    def test_rescued_refused_when_not_allowed(self):
        with compute_api.rescued_live_migration(False):
            self._assert_refused_as_rescued()

    def test_rescued_accepted_when_opted_in(self):
        with compute_api.rescued_live_migration(True):
            self._live_migrate()
        self._assert_migrating(trait_required=True)
        self.assertEqual(vm_states.RESCUED, self.instance.vm_state)
        self.assertEqual([uuids.source_node], self.placement.asked)

    def test_opt_in_ends_with_the_block(self):
        with compute_api.rescued_live_migration(True):
            pass
        self._assert_refused_as_rescued()
        try:
            with compute_api.rescued_live_migration(True):
                raise test.TestingException()
        except test.TestingException:
            pass
        self._assert_refused_as_rescued()

    def test_opt_in_does_not_leak_to_other_threads(self):
        errors = []

        def other_request():
            try:
                self._live_migrate()
            except nova_exception.InstanceInvalidState as e:
                errors.append(e)

        with compute_api.rescued_live_migration(True):
            thread = threading.Thread(target=other_request)
            thread.start()
            thread.join()
        self.assertEqual(1, len(errors))
        self.assertEqual([], self.lm.sent)

    def test_active_server_takes_nova_s_path(self):
        self.instance.vm_state = vm_states.ACTIVE
        with compute_api.rescued_live_migration(True):
            self._live_migrate()
        self._assert_migrating(trait_required=False)
        self.assertEqual([], self.placement.asked)

    def test_active_server_without_opt_in(self):
        self.instance.vm_state = vm_states.ACTIVE
        self._live_migrate()
        self._assert_migrating(trait_required=False)

    def test_other_states_still_refused_when_opted_in(self):
        for state in (vm_states.STOPPED, vm_states.SHELVED_OFFLOADED,
                      vm_states.ERROR):
            self.instance.vm_state = state
            with compute_api.rescued_live_migration(True):
                self.assertRaises(nova_exception.InstanceInvalidState,
                                  self._live_migrate)
        self.assertEqual([], self.lm.sent)

    def test_rescued_path_keeps_the_lock_check(self):
        self.instance.locked = True
        with compute_api.rescued_live_migration(True):
            self.assertRaises(nova_exception.InstanceIsLocked,
                              self._live_migrate)
        self.assertEqual([], self.placement.asked)
        self.assertEqual([], self.lm.sent)

    def test_rescued_path_keeps_the_task_state_check(self):
        self.instance.task_state = task_states.MIGRATING
        with compute_api.rescued_live_migration(True):
            err = self.assertRaises(nova_exception.InstanceInvalidState,
                                    self._live_migrate)
        self.assertIn('task_state', err.format_message())
        self.assertEqual([], self.lm.sent)

    def test_incapable_source_changes_nothing(self):
        self.placement.traits[uuids.source_node] = set()
        with compute_api.rescued_live_migration(True):
            self.assertRaises(exception.SourceNodeNotCapable,
                              self._live_migrate)
        self.assertIsNone(self.instance.task_state)
        self.assertEqual([], self.lm.saved_task_states)
        self.assertEqual([], self.lm.sent)

    def test_incapable_destination_changes_nothing(self):
        self.placement.traits[uuids.dest_node_a] = set()
        with compute_api.rescued_live_migration(True):
            self.assertRaises(exception.DestinationNodeNotCapable,
                              self._live_migrate, fakes.DEST_HOST)
        self.assertEqual([], self.lm.saved_task_states)
        self.assertEqual([], self.lm.sent)

    def test_request_spec_in_the_database_is_not_saved(self):
        with compute_api.rescued_live_migration(True):
            self._live_migrate()
        self.lm.request_spec_save.assert_not_called()
