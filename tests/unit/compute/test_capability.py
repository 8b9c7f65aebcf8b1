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

"""Which nodes may live-migrate rescued servers, as placement reports it."""

import threading

from keystoneauth1 import exceptions as ks_exc
from nova.api.openstack import wsgi
from nova import context as nova_context
from nova import exception as nova_exception
from nova.policies import extended_server_attributes as esa_policies
from nova.scheduler.client import report
from nova import test
from oslo_utils.fixture import uuidsentinel as uuids
import webob

from nova_rescue_lm.compute import capability
from nova_rescue_lm import exception
from tests.unit import fakes


class CheckNodesTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.RequestContext(
            'fake-user', 'fake-project', roles=['admin'], is_admin=True)
        self.nodes = self.useFixture(fakes.ComputeNodes())
        self.placement = self.useFixture(
            fakes.Placement(self.nodes.all_capable))
        self.instance = fakes.instance(self.context)
        self._allow_node_names(True)

    def _allow_node_names(self, allowed):
        self.policy.set_rules({esa_policies.BASE_POLICY_NAME:
                               '@' if allowed else '!'}, overwrite=False)

    def _check(self, host_name=None):
        capability.check_nodes(None, self.context, self.instance, host_name)

    def test_capable_source_without_host(self):
        self._check()
        self.assertEqual([uuids.source_node], self.placement.asked)

    def test_capable_source_and_destination(self):
        self._check(fakes.DEST_HOST)
        # once each (all at once: the order they arrive in is not known)
        self.assertCountEqual(
            [uuids.source_node, uuids.dest_node_a, uuids.dest_node_b],
            self.placement.asked)

    def test_placement_asked_about_every_node_at_once(self):
        """No node's read waits for another's answer."""
        arrived = threading.Barrier(3, timeout=10)
        answer = self.placement._get_provider_traits

        def read(context, rp_uuid):
            arrived.wait()  # BrokenBarrierError unless all three are in
            return answer(context, rp_uuid)
        self.placement.client.get_provider_traits.side_effect = read
        self._check(fakes.DEST_HOST)
        self.assertEqual(3, len(self.placement.asked))

    def test_no_answer_is_remembered(self):
        """Every request reads the trait and the stats marker afresh."""
        self._check(fakes.DEST_HOST)
        self.placement.traits[uuids.dest_node_b] = set()
        self.assertRaises(exception.DestinationNodeNotCapable,
                          self._check, fakes.DEST_HOST)
        self.placement.traits[uuids.dest_node_b] = {fakes.TRAIT}
        self._check(fakes.DEST_HOST)
        self.nodes.dest[1].stats = {}
        self.assertRaises(exception.DestinationNodeNotCapable,
                          self._check, fakes.DEST_HOST)
        self.assertEqual(12, len(self.placement.asked))

    def test_other_traits_do_not_count(self):
        self.placement.traits[uuids.source_node] = {
            'COMPUTE_STATUS_DISABLED', 'CUSTOM_COMPUTE_LIVE_MIGRATE'}
        self.assertRaises(exception.SourceNodeNotCapable, self._check)

    def test_a_trait_without_the_driver_s_marker_is_stale(self):
        """A compute switched back to nova's driver keeps the trait."""
        for stats in ({}, {'failed_builds': '0'},
                      {'rescue_lm_live_migrate_rescued': 'False'}, None):
            self.nodes.dest[1].stats = stats
            err = self.assertRaises(exception.DestinationNodeNotCapable,
                                    self._check, fakes.DEST_HOST)
            self.assertIn('destination compute node %s does not support'
                          % fakes.DEST_NODES[1], err.format_message())
            self.assertIn('its %s trait is stale' % fakes.TRAIT,
                          err.format_message())
        self.nodes.source.stats = {}
        err = self.assertRaises(exception.SourceNodeNotCapable, self._check)
        self.assertIn('is stale', err.format_message())

    def test_incapable_source_named_when_policy_allows(self):
        self.placement.traits[uuids.source_node] = set()
        err = self.assertRaises(exception.SourceNodeNotCapable,
                                self._check, fakes.DEST_HOST)
        self.assertIsInstance(err, nova_exception.NotSupported)
        self.assertEqual(400, err.code)
        self.assertIn('source compute node %s does not support'
                      % fakes.SOURCE_NODE, err.format_message())
        self.assertIn(fakes.TRAIT, err.format_message())

    def test_source_named_first_whatever_the_destination_answers(self):
        self.placement.traits[uuids.source_node] = set()
        for answer in (set(), fakes.placement_down(),
                       nova_exception.ResourceProviderTraitRetrievalFailed(
                           uuid=uuids.dest_node_a)):
            self.placement.traits[uuids.dest_node_a] = answer
            err = self.assertRaises(exception.SourceNodeNotCapable,
                                    self._check, fakes.DEST_HOST)
            self.assertIn('source compute node %s does not support'
                          % fakes.SOURCE_NODE, err.format_message())

    def test_source_answered_before_an_unknown_host(self):
        self.placement.traits[uuids.source_node] = set()
        self.assertRaises(exception.SourceNodeNotCapable,
                          self._check, 'nowhere')
        self.placement.traits[uuids.source_node] = fakes.placement_down()
        self.assertRaises(exception.CapabilityUnknown,
                          self._check, 'nowhere')

    def test_incapable_source_unnamed_when_policy_denies(self):
        self._allow_node_names(False)
        self.placement.traits[uuids.source_node] = set()
        err = self.assertRaises(exception.SourceNodeNotCapable, self._check)
        self.assertIn('source compute node does not support',
                      err.format_message())
        self.assertNotIn(fakes.SOURCE_NODE, err.format_message())

    def test_incapable_destination(self):
        self.placement.traits[uuids.dest_node_b] = set()
        err = self.assertRaises(exception.DestinationNodeNotCapable,
                                self._check, fakes.DEST_HOST)
        self.assertEqual(400, err.code)
        self.assertIn('destination compute node %s does not support'
                      % fakes.DEST_NODES[1], err.format_message())

    def test_incapable_destination_unnamed_when_policy_denies(self):
        self._allow_node_names(False)
        self.placement.traits[uuids.dest_node_a] = set()
        err = self.assertRaises(exception.DestinationNodeNotCapable,
                                self._check, fakes.DEST_HOST)
        self.assertIn('destination compute node does not support',
                      err.format_message())
        self.assertNotIn('dst-node', err.format_message())

    def test_unknown_destination_is_left_to_nova(self):
        self.assertRaises(nova_exception.ComputeHostNotFound,
                          self._check, 'nowhere')

    def test_not_capable_becomes_400_in_the_api(self):
        """nova's expected_errors turns the NotSupported error into 400."""
        self.placement.traits[uuids.source_node] = set()

        @wsgi.expected_errors((400, 403, 404, 409))
        def action(self_, req):
            self._check()

        req = webob.Request.blank('/')
        req.api_version_request = fakes.api_version('2.105')
        err = self.assertRaises(webob.exc.HTTPBadRequest, action, None, req)
        self.assertIn(fakes.SOURCE_NODE, err.explanation)

    def _assert_capability_unknown(self, node_uuid, failure, host_name=None,
                                   node_name=None):
        self.placement.traits[node_uuid] = failure
        err = self.assertRaises(exception.CapabilityUnknown,
                                self._check, host_name)
        self.assertIsInstance(err, webob.exc.HTTPConflict)
        self.assertEqual(409, err.code)
        self.assertIn('Could not read the traits of compute node%s from '
                      'the placement service' % node_name, err.explanation)

    def test_source_placement_failure(self):
        self._assert_capability_unknown(
            uuids.source_node,
            nova_exception.ResourceProviderTraitRetrievalFailed(
                uuid=uuids.source_node),
            node_name=' ' + fakes.SOURCE_NODE)

    def test_source_placement_unreachable(self):
        self._assert_capability_unknown(
            uuids.source_node, ks_exc.ConnectFailure('down'),
            node_name=' ' + fakes.SOURCE_NODE)

    def test_placement_client_cannot_be_built(self):
        # (report_client_singleton is the Placement fixture's mock)
        report.report_client_singleton.side_effect = ks_exc.EndpointNotFound()
        err = self.assertRaises(exception.CapabilityUnknown,
                                self._check, fakes.DEST_HOST)
        self.assertIn('compute node %s from' % fakes.SOURCE_NODE,
                      err.explanation)

    def test_destination_placement_client_error(self):
        self._allow_node_names(False)
        self._assert_capability_unknown(
            uuids.dest_node_a, ks_exc.ClientException('boom'),
            host_name=fakes.DEST_HOST, node_name='')
