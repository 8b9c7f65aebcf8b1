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

"""What nova-api asks, per os-migrateLive, to admit a rescued server.

Counted through nova's real API, database and placement: placement requests
for traits (one per node involved, never remembered from an earlier
request) and compute-node queries (nova's own lookup of the destination is
the check's; the source's node is the one query nova-api does not make
itself).
"""

import threading
import time
from unittest import mock

from keystoneauth1 import exceptions as ks_exc
from nova.scheduler.client import report
import sqlalchemy

from tests.functional import base


class TestAdmissionCost(base.RescueLiveMigrationTestBase):

    # nova-api answers before the conductor runs: only its work is counted
    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('dest')
        self.node_uuids = {host: self.compute_rp_uuids[host]
                           for host in ('src', 'dest')}

    def _asked(self, server, host=None, status=202, microversion='2.105',
               unanswered=()):
        """(trait reads by provider host, compute-node SELECTs) made for
        one os-migrateLive; waits for the migration when accepted.

        Placement's answers about the hosts in ``unanswered`` fail.
        """
        source = self._host_of(server)
        traits_of = report.SchedulerReportClient.get_provider_traits
        hosts = {uuid: host for host, uuid in self.node_uuids.items()}
        trait_reads = []

        def counting(client, context, rp_uuid):
            trait_reads.append(hosts[rp_uuid])
            if hosts[rp_uuid] in unanswered:
                raise ks_exc.ConnectFailure('placement is unreachable')
            return traits_of(client, context, rp_uuid)

        # nova-api serves the request in this thread (wsgi-intercept);
        # services working meanwhile run in others
        me = threading.get_ident()
        selects = []

        def statement(conn, cursor, sql, params, context, executemany):
            if (threading.get_ident() == me and
                    sql.lstrip().upper().startswith('SELECT') and
                    'FROM compute_nodes' in sql):
                selects.append(sql)

        self.api.microversion = microversion
        sqlalchemy.event.listen(sqlalchemy.engine.Engine,
                                'before_cursor_execute', statement)
        try:
            with mock.patch.object(report.SchedulerReportClient,
                                   'get_provider_traits', counting):
                self.response = self._live_migrate_action(
                    server, host=host, check_response_status=[status])
        finally:
            sqlalchemy.event.remove(sqlalchemy.engine.Engine,
                                    'before_cursor_execute', statement)
        if status == 202:
            self._wait_until_moved(server, source)
        return sorted(trait_reads), len(selects)

    def _wait_until_moved(self, server, source):
        """Nothing in flight: the next request starts from a still state."""
        newest = None
        for _attempt in range(100):
            shown = self._show_server(server)
            migrations = self._migrations_of(server)
            newest = max(migrations, key=lambda m: m['id'], default=None)
            if (shown['OS-EXT-SRV-ATTR:host'] != source and
                    shown['OS-EXT-STS:task_state'] is None and
                    newest and newest['status'] == 'completed'):
                return
            time.sleep(0.1)
        self.fail('%s did not leave %s: %s' % (server['id'], source, newest))

    def test_one_trait_read_per_node_and_nova_s_destination_lookup(self):
        active = self._create_server(host='src', networks='none')
        rescued = self._rescue_server(
            self._create_server(host='src', networks='none'))
        # nova's own path: one lookup of the destination's nodes
        self.assertEqual(([], 1), self._asked(active, 'dest', 202, '2.104'))
        # the check adds the source's node, and one read per node
        self.assertEqual((['dest', 'src'], 2), self._asked(rescued, 'dest'))
        # no host: the source only (nova looks nothing up)
        self.assertEqual(([], 0), self._asked(active, None, 202, '2.104'))
        self.assertEqual((['dest'], 1), self._asked(rescued, None))
        self._wait_for_state_change(rescued, 'RESCUE')

    def test_no_answer_is_remembered(self):
        rescued = self._rescue_server(
            self._create_server(host='src', networks='none'))
        self.assertEqual((['dest', 'src'], 2), self._asked(rescued, 'dest'))
        # the same nodes, just asked: placement cannot answer about one now
        self.assertEqual((['dest', 'src'], 2), self._asked(
            rescued, 'src', status=409, unanswered=['src']))
        self.assertIn('Could not read the traits of compute node src ',
                      self.response.body['conflictingRequest']['message'])
        self.assertEqual('dest', self._host_of(rescued))
        self.assertEqual((['dest', 'src'], 2), self._asked(rescued, 'src'))
        self.assertEqual('src', self._host_of(rescued))
