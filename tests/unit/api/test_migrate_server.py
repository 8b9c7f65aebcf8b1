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

"""os-migrateLive through the package's router: status codes users see."""

import fixtures
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception as nova_exception
from nova import objects
from nova.policies import extended_server_attributes as esa_policies
from nova import test
from oslo_serialization import jsonutils
from oslo_utils.fixture import uuidsentinel as uuids
import webob

from nova_rescue_lm.api import router
from tests.unit import fakes


class MigrateLiveTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fakes.MicroversionState())
        # Hypervisor names are for admins only, as in nova's real policy.
        self.policy.set_rules({esa_policies.BASE_POLICY_NAME:
                               'rule:context_is_admin'}, overwrite=False)
        self.admin = nova_context.RequestContext(
            'fake-user', 'fake-project', roles=['admin'], is_admin=True)
        self.nodes = self.useFixture(fakes.ComputeNodes())
        self.placement = self.useFixture(
            fakes.Placement(self.nodes.all_capable))
        self.server = fakes.instance(self.admin)
        self.lm = self.useFixture(fakes.LiveMigrationBoundaries(
            fakes.request_spec(self.server)))
        self.useFixture(fixtures.MockPatch(
            'nova.objects.Instance.get_by_uuid', return_value=self.server))
        self.app = router.APIRouterV21()

    def _migrate_live(self, version='2.105', host=None, context=None,
                      **extra):
        body = {'os-migrateLive': dict(host=host, block_migration='auto',
                                       **extra)}
        req = webob.Request.blank(
            '/servers/%s/action' % self.server.uuid, method='POST',
            body=jsonutils.dump_as_bytes(body),
            content_type='application/json')
        req.headers['OpenStack-API-Version'] = 'compute %s' % version
        req.environ['nova.context'] = context or self.admin
        return req.get_response(self.app)

    def _error(self, resp, code):
        self.assertEqual(code, resp.status_int, resp.body)
        return list(jsonutils.loads(resp.body).values())[0]['message']

    def _assert_nothing_started(self):
        self.assertEqual([], self.lm.sent)
        self.assertIsNone(self.server.task_state)

    def test_rescued_below_2_105_is_409(self):
        message = self._error(self._migrate_live('2.104'), 409)
        self.assertIn("in vm_state rescued", message)
        self.assertEqual([], self.placement.asked)
        self._assert_nothing_started()

    def test_rescued_at_2_105_is_202(self):
        resp = self._migrate_live()
        self.assertEqual(202, resp.status_int, resp.body)
        self.assertEqual('compute 2.105',
                         resp.headers['OpenStack-API-Version'])
        self.assertEqual(task_states.MIGRATING, self.server.task_state)
        self.assertEqual(vm_states.RESCUED, self.server.vm_state)
        self.assertEqual([uuids.source_node], self.placement.asked)
        [extra_specs] = self.lm.sent_extra_specs()
        self.assertEqual('required', extra_specs[fakes.REQUIRED_TRAIT])

    def test_rescued_at_latest_is_202(self):
        self.assertEqual(202, self._migrate_live('latest').status_int)

    def test_active_server_at_2_105_is_unchanged(self):
        self.server.vm_state = vm_states.ACTIVE
        self.assertEqual(202, self._migrate_live().status_int)
        self.assertEqual([], self.placement.asked)
        [extra_specs] = self.lm.sent_extra_specs()
        self.assertNotIn(fakes.REQUIRED_TRAIT, extra_specs)

    def test_incapable_source_is_400_naming_it_to_admins(self):
        self.placement.traits[uuids.source_node] = set()
        message = self._error(self._migrate_live(), 400)
        self.assertIn('source compute node %s does not support'
                      % fakes.SOURCE_NODE, message)
        self._assert_nothing_started()

    def test_incapable_source_is_not_named_to_a_project_manager(self):
        manager = nova_context.RequestContext(
            'fake-user', self.server.project_id, roles=['manager', 'member'])
        self.placement.traits[uuids.source_node] = set()
        message = self._error(self._migrate_live(context=manager), 400)
        self.assertIn('source compute node does not support', message)
        self.assertNotIn(fakes.SOURCE_NODE, message)
        self.assertNotIn(fakes.SOURCE_HOST, message)

    def test_incapable_destination_is_400_naming_it(self):
        self.placement.traits[uuids.dest_node_b] = set()
        message = self._error(self._migrate_live(host=fakes.DEST_HOST), 400)
        self.assertIn('destination compute node %s does not support'
                      % fakes.DEST_NODES[1], message)
        self._assert_nothing_started()

    def test_capable_destination_is_202(self):
        resp = self._migrate_live(host=fakes.DEST_HOST)
        self.assertEqual(202, resp.status_int, resp.body)
        # each node once (all at once: in no known order)
        self.assertCountEqual(
            [uuids.source_node, uuids.dest_node_a, uuids.dest_node_b],
            self.placement.asked)
        [sent] = self.lm.sent
        spec = objects.RequestSpec.obj_from_primitive(sent)
        self.assertEqual(fakes.DEST_HOST, spec.requested_destination.host)
        self.assertEqual('required',
                         spec.flavor.extra_specs[fakes.REQUIRED_TRAIT])

    def test_unknown_destination_is_400(self):
        message = self._error(self._migrate_live(host='nowhere'), 400)
        self.assertIn('nowhere', message)
        self._assert_nothing_started()

    def test_placement_failure_is_409(self):
        self.placement.traits[uuids.source_node] = fakes.placement_down()
        message = self._error(self._migrate_live(), 409)
        self.assertIn('Could not read the traits of compute node %s'
                      % fakes.SOURCE_NODE, message)
        self._assert_nothing_started()

    def test_placement_trait_retrieval_failure_is_409(self):
        self.placement.traits[uuids.dest_node_a] = (
            nova_exception.ResourceProviderTraitRetrievalFailed(
                uuid=uuids.dest_node_a))
        self._error(self._migrate_live(host=fakes.DEST_HOST), 409)
        self._assert_nothing_started()

    def test_locked_server_is_still_409_for_its_owner(self):
        owner = nova_context.RequestContext(
            'fake-user', self.server.project_id, roles=['manager', 'member'])
        self.server.locked = True
        message = self._error(self._migrate_live(context=owner), 409)
        self.assertIn('is locked', message)
        self._assert_nothing_started()
