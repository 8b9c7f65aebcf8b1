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

"""Live migration of rescued servers, as an operator does it.

Needs two computes that carry the CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED trait
(computes running nova's stock driver may be present: the tests never pick
them) and ``[compute] max_microversion`` of at least 2.105.
"""


from oslo_serialization import jsonutils
from tempest.api.compute import base
from tempest.common import waiters
from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from nova_rescue_lm import capability
from nova_rescue_lm import microversions

CONF = config.CONF
TRAIT = capability.TRAIT


class RescuedServerTestBase(base.BaseV2ComputeAdminTest):

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.rescue_lm.live_migrate_rescued:
            raise cls.skipException('[rescue_lm] live_migrate_rescued is '
                                    'False for this cloud')
        if not CONF.compute_feature_enabled.live_migration:
            raise cls.skipException('live migration is not enabled')
        if not CONF.compute_feature_enabled.rescue:
            raise cls.skipException('rescue is not enabled')
        if CONF.compute.min_compute_nodes < 2:
            raise cls.skipException('fewer than 2 compute nodes')

    def _rescued_server(self, host=None):
        """An admin's server (so that it can be placed on HOST), rescued."""
        kwargs = {}
        if host:
            zone = self.os_admin.services_client.list_services(
                binary='nova-compute', host=host)['services'][0]['zone']
            kwargs['availability_zone'] = '%s:%s' % (zone, host)
        server = self.create_test_server(
            clients=self.os_admin, wait_until='ACTIVE', networks='none',
            **kwargs)
        rescue_image = (CONF.rescue_lm.rescue_image_ref or
                        CONF.compute.image_ref_alt or CONF.compute.image_ref)
        self.admin_servers_client.rescue_server(
            server['id'], rescue_image_ref=rescue_image)
        waiters.wait_for_server_status(self.admin_servers_client,
                                       server['id'], 'RESCUE')
        return server

    def _live_migrate(self, server_id, host):
        self.admin_servers_client.live_migrate_server(
            server_id, host=host, block_migration='auto')


class LiveMigrateRescuedServerTest(RescuedServerTestBase):
    """At 2.105 a rescued server live-migrates and stays rescued."""

    min_microversion = microversions.RESCUED_LIVE_MIGRATION
    placement_min_microversion = '1.18'

    def _capable_hosts(self):
        providers = self.os_admin.resource_providers_client.\
            list_resource_providers(required=TRAIT)['resource_providers']
        names = {rp['name'] for rp in providers}
        # Unvalidated: tempest's response schemas for os-hypervisors stop
        # before 2.88 and reject the 'uptime' nova returns since then.
        _resp, body = self.os_admin.hypervisor_client.get(
            'os-hypervisors/detail')
        hypervisors = jsonutils.loads(body)['hypervisors']
        return sorted(h['service']['host'] for h in hypervisors
                      if h['hypervisor_hostname'] in names and
                      h['state'] == 'up' and h['status'] == 'enabled')

    def _migrate_and_unrescue(self, host_arg):
        hosts = self._capable_hosts()
        if len(hosts) < 2:
            raise self.skipException('fewer than 2 capable computes: %s'
                                     % hosts)
        server = self._rescued_server(host=hosts[0])
        source = self.get_host_for_server(server['id'])
        self._live_migrate(server['id'],
                           host_arg(hosts, source))
        waiters.wait_for_server_status(self.admin_servers_client,
                                       server['id'], 'RESCUE')
        dest = self.get_host_for_server(server['id'])
        migrations = self.os_admin.migrations_client.list_migrations(
            instance_uuid=server['id'])['migrations']
        self.assertEqual(['completed'],
                         [m['status'] for m in migrations
                          if m['migration_type'] == 'live-migration'])
        self.assertNotEqual(source, dest)
        self.assertIn(dest, hosts)

        self.admin_servers_client.unrescue_server(server['id'])
        waiters.wait_for_server_status(self.admin_servers_client,
                                       server['id'], 'ACTIVE')
        self.assertEqual(dest, self.get_host_for_server(server['id']))

    @decorators.idempotent_id('0e5b6a1c-3f7d-4b2e-9c1a-6d8f2b4e7a01')
    def test_live_migrate_rescued_server_then_unrescue(self):
        self._migrate_and_unrescue(
            lambda hosts, source: [h for h in hosts if h != source][0])

    @decorators.idempotent_id('4c2d9e7f-8a1b-4f3c-b6d5-2e9a7c1f0b02')
    def test_live_migrate_rescued_server_scheduler_picks_host(self):
        self._migrate_and_unrescue(lambda hosts, source: None)


class LiveMigrateRescuedBelow2105Test(RescuedServerTestBase):
    """Below 2.105 nova's answer is unchanged: 409, and nothing moves."""

    # 2.37: servers without networks ('networks': 'none')
    min_microversion = '2.37'
    max_microversion = microversions.NOVA_MAX

    @decorators.idempotent_id('a7f3c2e1-5d4b-4a9c-8e6f-1b2d3c4e5f03')
    def test_live_migrate_rescued_server_conflict(self):
        server = self._rescued_server()
        source = self.get_host_for_server(server['id'])
        self.assertRaises(lib_exc.Conflict, self._live_migrate,
                          server['id'], None)
        shown = self.admin_servers_client.show_server(
            server['id'])['server']
        self.assertEqual(('RESCUE', None),
                         (shown['status'], shown['OS-EXT-STS:task_state']))
        self.assertEqual(source, self.get_host_for_server(server['id']))
        self.assertEqual([], self.os_admin.migrations_client.list_migrations(
            instance_uuid=server['id'])['migrations'])
