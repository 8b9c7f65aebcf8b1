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

"""nova's lookup of the destination's nodes reuses the check's, once."""

import fixtures
from nova import context as nova_context
from nova import objects
from nova import test

from nova_rescue_lm.compute import destination_nodes
from tests.unit import fakes


class DestinationNodesTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fakes.NovaLookupRestored())
        # the database's answer (the boundary): a new list every time
        self.queried = []

        def db_nodes(context, host, use_slave=False):
            self.queried.append(host)
            return []
        self.useFixture(fixtures.MonkeyPatch(
            'nova.objects.ComputeNodeList._db_compute_node_get_all_by_host',
            staticmethod(db_nodes)))
        self.context = nova_context.get_admin_context()
        destination_nodes.install()

    def _novas(self, context=None, host='dst'):
        """nova's own call, as live_migrate makes it."""
        return objects.ComputeNodeList.get_all_by_host(
            context or self.context, host)

    def test_nova_reuses_the_lookup_once(self):
        with destination_nodes.handing_over():
            nodes = destination_nodes.lookup(self.context, 'dst')
            self.assertIs(nodes, self._novas())
            self.assertIsNot(nodes, self._novas())
        self.assertEqual(['dst', 'dst'], self.queried)

    def test_only_the_same_context_and_host(self):
        with destination_nodes.handing_over():
            nodes = destination_nodes.lookup(self.context, 'dst')
            self._novas(host='other')
            self._novas(context=nova_context.get_admin_context())
            objects.ComputeNodeList.get_all_by_host(self.context, 'dst',
                                                    use_slave=True)
            self.assertIs(nodes, self._novas())
        self.assertEqual(['dst', 'other', 'dst', 'dst'], self.queried)

    def test_nothing_outlives_the_request(self):
        with destination_nodes.handing_over():
            destination_nodes.lookup(self.context, 'dst')
        self._novas()
        with destination_nodes.handing_over():
            self._novas()
        self.assertEqual(['dst', 'dst', 'dst'], self.queried)

    def test_install_is_idempotent_and_keeps_nova_s_method(self):
        wrapped = objects.ComputeNodeList.__dict__['get_all_by_host']
        destination_nodes.install()
        self.assertIs(wrapped, objects.ComputeNodeList.__dict__[
            'get_all_by_host'])
        self.assertTrue(destination_nodes.installed())
        # oslo.versionedobjects still sees nova's remotable method
        self.assertTrue(objects.ComputeNodeList.get_all_by_host.remotable)


class InstallTest(test.NoDBTestCase):

    def test_nova_s_own_method_while_the_fixture_runs(self):
        destination_nodes.install()
        self.useFixture(fakes.NovaLookupRestored())
        self.assertFalse(destination_nodes.installed())
        self.assertTrue(objects.ComputeNodeList.get_all_by_host.remotable)

    def test_a_mocked_lookup_is_left_alone(self):
        self.useFixture(fakes.NovaLookupRestored())
        lookup = self.useFixture(fixtures.MockPatch(
            'nova.objects.ComputeNodeList.get_all_by_host')).mock
        destination_nodes.install()
        self.assertIs(lookup, objects.ComputeNodeList.get_all_by_host)
        self.assertFalse(destination_nodes.installed())
