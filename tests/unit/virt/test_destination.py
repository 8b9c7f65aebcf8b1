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

"""The source compute's proof of the destination, before anything moves."""

import threading
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ks_exc
from nova import context as nova_context
from nova import exception
from nova import objects
from nova import test
from oslo_utils.fixture import uuidsentinel as uuids

from nova_rescue_lm import capability
from nova_rescue_lm.virt import destination
from tests.unit import fakes


class RefuseUnprovenTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        self.instance = fakes.instance(self.context)
        self.nodes = {
            uuids.src: objects.ComputeNode(
                uuid=uuids.src, host=fakes.SOURCE_HOST,
                hypervisor_hostname='src-node',
                stats=capability.stats_marker(True)),
            uuids.dest: objects.ComputeNode(
                uuid=uuids.dest, host=fakes.DEST_HOST,
                hypervisor_hostname='dest-node',
                stats=capability.stats_marker(True)),
        }
        self.lookup = self.useFixture(fixtures_by_uuids(self.nodes)).mock
        self.client = mock.Mock()
        # The conductor moved the source allocation to the migration and
        # claimed the destination for the server (plus a sharing provider).
        self.client.get_allocs_for_consumer.return_value = {
            'allocations': {uuids.dest: {}, uuids.shared_disk: {}}}
        self.client.get_provider_traits.return_value = mock.Mock(
            traits={capability.TRAIT, 'HW_CPU_X86_AVX'})

    def _check(self, source_capable=True):
        destination.refuse_unproven(self.context, self.instance,
                                    mock.Mock(reportclient=self.client),
                                    source_capable)

    def _refused(self, **kwargs):
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self._check, **kwargs)
        self.assertIn('the rescued server stays where it is', str(err))
        return str(err)

    def test_capable_destination_passes(self):
        self._check()
        # every provider of the allocations, once
        self.assertCountEqual(
            [mock.call(self.context, uuids.dest),
             mock.call(self.context, uuids.shared_disk)],
            self.client.get_provider_traits.call_args_list)

    def test_traits_read_while_the_nodes_are_looked_up(self):
        """One round trip less: placement is asked about the providers
        while the conductor says which are compute nodes.
        """
        asked = threading.Event()
        traits = self.client.get_provider_traits.return_value

        def read(context, uuid):
            asked.set()
            return traits
        self.client.get_provider_traits.side_effect = read
        lookup = self.lookup.side_effect
        placement_asked_first = []

        def get_all_by_uuids(context, node_uuids):
            placement_asked_first.append(asked.wait(10))
            return lookup(context, node_uuids)
        self.lookup.side_effect = get_all_by_uuids
        self._check()
        self.assertEqual([True], placement_asked_first)

    def test_stale_trait_refused(self):
        self.nodes[uuids.dest].stats = {'failed_builds': '0'}
        message = self._refused()
        self.assertIn('destination node dest-node: its %s trait is stale'
                      % capability.TRAIT, message)
        self.nodes[uuids.dest].stats = capability.stats_marker(False)
        self.assertIn('is stale', self._refused())

    def test_no_trait_refused(self):
        self.client.get_provider_traits.return_value = mock.Mock(
            traits={'HW_CPU_X86_AVX'})
        self.assertIn('dest-node: it does not report the %s trait'
                      % capability.TRAIT, self._refused())

    def test_switched_off_source_refused_before_asking_anything(self):
        self.assertIn('switched off', self._refused(source_capable=False))
        self.client.get_allocs_for_consumer.assert_not_called()

    def test_no_destination_in_placement_refused(self):
        self.client.get_allocs_for_consumer.return_value = {
            'allocations': {uuids.src: {}}}
        self.assertIn('no destination compute node', self._refused())

    def test_placement_errors_refuse(self):
        self.client.get_allocs_for_consumer.side_effect = (
            ks_exc.ConnectFailure('down'))
        self.assertIn('placement could not tell', self._refused())
        self.client.get_allocs_for_consumer.side_effect = None
        self.client.get_provider_traits.side_effect = (
            exception.ResourceProviderTraitRetrievalFailed(uuid=uuids.dest))
        self.assertIn('traits could not be read', self._refused())


def fixtures_by_uuids(nodes):
    def get_all_by_uuids(context, node_uuids):
        return objects.ComputeNodeList(objects=[
            nodes[u] for u in node_uuids if u in nodes])
    return fixtures.MockPatch('nova.objects.ComputeNodeList.get_all_by_uuids',
                              side_effect=get_all_by_uuids)
