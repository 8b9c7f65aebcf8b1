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

"""The compute API router with os-migrateLive rebound to our controller.

When the installed nova differs from what the package relies on
(:mod:`nova_rescue_lm.nova_shape`), this is nova's router unchanged, at
nova's own maximum microversion: nova-api keeps serving, and says why in one
ERROR.
"""

from nova.api.openstack.compute import routes
from nova.api.openstack import wsgi
from oslo_log import log as logging

from nova_rescue_lm.api import microversion
from nova_rescue_lm.api import migrate_server
from nova_rescue_lm.compute import capability
from nova_rescue_lm.compute import destination_nodes
from nova_rescue_lm import nova_shape

LOG = logging.getLogger(__name__)

ACTION = 'os-migrateLive'


class APIRouterV21(routes.APIRouterV21):
    """Nova's router; only the ``os-migrateLive`` server action changes."""

    def __init__(self, custom_routes=None):
        enabled = not nova_shape.api_differences()
        if enabled:
            microversion.apply()
        super().__init__(custom_routes)
        if enabled and not self._rebind():
            microversion.revert()
            LOG.error('nova-rescue-lm: live migration of rescued servers is '
                      'switched off in nova-api: no route of nova\'s API '
                      'router dispatches the %s action.', ACTION)
        elif enabled:
            # what a rescued os-migrateLive needs, ready before the first
            destination_nodes.install()
            capability.build_placement_client()

    def _rebind(self):
        controller = migrate_server.MigrateServerController()
        rebound = 0
        for route in self.map.matchlist:
            resource = route.defaults.get('controller')
            if (isinstance(resource, wsgi.Resource) and
                    ACTION in resource.wsgi_actions):
                resource.wsgi_actions[ACTION] = controller._migrate_live
                rebound += 1
        return rebound
