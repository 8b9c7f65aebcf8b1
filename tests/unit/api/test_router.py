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

"""The router gives os-migrateLive, and only it, to our controller."""

from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ks_exc
from nova.api.openstack import api_version_request
from nova.api.openstack.compute import migrate_server as nova_migrate_server
from nova.api.openstack.compute import routes
from nova.api.openstack import wsgi
from nova.scheduler.client import report
from nova import test

from nova_rescue_lm.api import evacuate
from nova_rescue_lm.api import migrate_server
from nova_rescue_lm.api import router
from nova_rescue_lm.compute import destination_nodes
from tests.unit import fakes

ACTION = 'os-migrateLive'


def _resources(app):
    """(path, method, Resource) of every route dispatching server actions."""
    found = []
    for route in app.map.matchlist:
        resource = route.defaults.get('controller')
        if (isinstance(resource, wsgi.Resource) and
                ACTION in resource.wsgi_actions):
            found.append((route.routepath, route.conditions, resource))
    return found


class RouterTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fakes.MicroversionState())
        self.useFixture(fakes.NovaLookupRestored())

    def test_every_dispatching_resource_is_rebound(self):
        stock = _resources(routes.APIRouterV21())
        ours = _resources(router.APIRouterV21())
        self.assertGreater(len(stock), 1)
        self.assertEqual([(p, c) for p, c, _ in stock],
                         [(p, c) for p, c, _ in ours])
        for path, _, resource in ours:
            handler = resource.wsgi_actions[ACTION]
            self.assertIsInstance(handler.__self__,
                                  migrate_server.MigrateServerController,
                                  path)
            self.assertIs(migrate_server.MigrateServerController._migrate_live,
                          handler.__func__)
            # nova's Resource takes the success code from the handler.
            self.assertEqual(202, handler.wsgi_codes(
                mock.Mock(api_version_request=api_version_request.
                          APIVersionRequest('2.105'))))

    def test_evacuate_is_rebound_where_os_migrate_live_is(self):
        ours = _resources(router.APIRouterV21())
        self.assertGreater(len(ours), 1)
        for path, _, resource in ours:
            handler = resource.wsgi_actions['evacuate']
            self.assertIsInstance(handler.__self__,
                                  evacuate.EvacuateController, path)
            self.assertIs(evacuate.EvacuateController._evacuate,
                          handler.__func__)

    def test_other_actions_stay_nova_s(self):
        stock = _resources(routes.APIRouterV21())
        ours = _resources(router.APIRouterV21())
        for (_, _, stock_res), (path, _, our_res) in zip(stock, ours):
            self.assertEqual(sorted(stock_res.wsgi_actions),
                             sorted(our_res.wsgi_actions))
            for action, handler in our_res.wsgi_actions.items():
                if action in (ACTION, 'evacuate'):
                    continue
                self.assertIs(stock_res.wsgi_actions[action].__func__,
                              handler.__func__, (path, action))
            # os-migrate (cold migration) is still nova's own controller.
            self.assertIs(
                nova_migrate_server.MigrateServerController._migrate,
                our_res.wsgi_actions['migrate'].__func__)

    def test_advertises_2_106(self):
        router.APIRouterV21()
        self.assertEqual('2.106', api_version_request._MAX_API_VERSION)

    def test_placement_client_built_with_the_router(self):
        """Not by the first rescued request of the worker."""
        self.assertIsNone(report.PLACEMENTCLIENT)
        router.APIRouterV21()
        client = report.PLACEMENTCLIENT
        self.assertIsInstance(client, report.SchedulerReportClient)
        # no pooled connection is left for forked API workers to share
        self.assertIsNone(client._client.session._session)
        self.assertIs(client, report.report_client_singleton())
        self.assertTrue(destination_nodes.installed())

    def test_router_built_when_the_placement_client_cannot_be(self):
        self.useFixture(fixtures.MockPatch(
            'nova.scheduler.client.report.SchedulerReportClient.__init__',
            side_effect=ks_exc.EndpointNotFound('no placement')))
        app = router.APIRouterV21()
        self.assertIsNone(report.PLACEMENTCLIENT)
        self.assertEqual('2.106', api_version_request._MAX_API_VERSION)
        self.assertEqual(len(_resources(app)), len([
            r for _, _, r in _resources(app) if isinstance(
                r.wsgi_actions[ACTION].__self__,
                migrate_server.MigrateServerController)]))
        self.assertIn('the placement client could not be built at start '
                      '(no placement)', self.stdlog.logger.output)

    def test_nova_s_router_when_no_route_dispatches_the_action(self):
        route_list = tuple(
            (path, methods) for path, methods in routes.ROUTE_LIST
            if isinstance(methods, str) or all(
                info[0] is not routes.server_controller
                for info in methods.values()))
        self.useFixture(fixtures.MockPatch(
            'nova.api.openstack.compute.routes.ROUTE_LIST', route_list))
        router.APIRouterV21()
        self.assertEqual('2.104', api_version_request._MAX_API_VERSION)
        self.assertIn('no route of nova\'s API router dispatches these '
                      'actions: os-migrateLive, evacuate.',
                      self.stdlog.logger.output)
        self.assertIsNone(report.PLACEMENTCLIENT)
        self.assertFalse(destination_nodes.installed())

    def test_nova_s_router_when_nova_differs(self):
        """Nothing raises: nova-api serves nova's own behaviour."""
        self.useFixture(fixtures.MockPatchObject(
            nova_migrate_server.MigrateServerController, '_migrate_live',
            lambda self, req, id, body, extra=None: None))
        app = router.APIRouterV21()
        self.assertEqual('2.104', api_version_request._MAX_API_VERSION)
        self.assertIsNone(report.PLACEMENTCLIENT)
        self.assertFalse(destination_nodes.installed())
        for _path, _conditions, resource in _resources(app):
            self.assertNotIsInstance(
                resource.wsgi_actions[ACTION].__self__,
                migrate_server.MigrateServerController)
        output = self.stdlog.logger.output
        self.assertEqual(1, output.count('switched off in nova-api'))
        self.assertIn('MigrateServerController._migrate_live(self, req, id, '
                      'body, extra=None)', output)
        # asked once per process: a second router logs nothing new
        router.APIRouterV21()
        self.assertEqual(1, self.stdlog.logger.output.count(
            'switched off in nova-api'))
