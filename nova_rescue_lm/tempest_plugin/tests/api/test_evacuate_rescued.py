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

"""Evacuation of rescued servers, the part a cloud can test in place.

Evacuating needs a host that is down; tempest cannot power one off, so
the evacuation itself is proven on the package's real-hypervisor bed
(``tox -e e2e``). Here: below 2.106 nova's 409, and at 2.106 a rescued
server reaches nova's own evacuate checks (its host is up: nova's 400).
Nothing moves in either case.
"""

from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from nova_rescue_lm import microversions
from nova_rescue_lm.tempest_plugin.tests.api import (
    test_live_migrate_rescued as base)


class _EvacuateRescuedTest(base.RescuedServerTestBase):

    def _evacuate_refused(self, error):
        server = self._rescued_server()
        source = self.get_host_for_server(server['id'])
        raised = self.assertRaises(
            error, self.admin_servers_client.evacuate_server, server['id'])
        shown = self.admin_servers_client.show_server(
            server['id'])['server']
        self.assertEqual(('RESCUE', None),
                         (shown['status'], shown['OS-EXT-STS:task_state']))
        self.assertEqual(source, self.get_host_for_server(server['id']))
        self.assertEqual([], self.os_admin.migrations_client.list_migrations(
            instance_uuid=server['id'])['migrations'])
        return raised, source


class EvacuateRescuedHostUpTest(_EvacuateRescuedTest):
    """At 2.106 a rescued server gets nova's answer for a host that is up."""

    min_microversion = microversions.RESCUED_EVACUATION

    @decorators.idempotent_id('5d1e8f20-7c3b-4a6d-9e2f-0b1c2d3e4f06')
    def test_evacuate_rescued_server_whose_host_is_up(self):
        raised, source = self._evacuate_refused(lib_exc.BadRequest)
        self.assertIn('Compute service of %s is still in use' % source,
                      str(raised))


class EvacuateRescuedBelow2106Test(_EvacuateRescuedTest):
    """Below 2.106 nova's answer is unchanged: 409, and nothing moves."""

    # 2.37: servers without networks ('networks': 'none')
    min_microversion = '2.37'
    max_microversion = microversions.RESCUED_LIVE_MIGRATION

    @decorators.idempotent_id('9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c07')
    def test_evacuate_rescued_server_conflict(self):
        raised, _source = self._evacuate_refused(lib_exc.Conflict)
        self.assertIn('while it is in vm_state rescued', str(raised))
