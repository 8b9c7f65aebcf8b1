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

"""The compute API router with os-migrateLive and evacuate rebound to ours.

When the installed nova differs from what the package relies on
(:mod:`nova_rescue_lm.nova_shape`), this is nova's router unchanged, at
nova's own maximum microversion: nova-api keeps serving, and says why in one
ERROR.
"""

from nova.api.openstack.compute import routes
from nova.api.openstack import wsgi
from oslo_log import log as logging

from nova_rescue_lm.api import evacuate
from nova_rescue_lm.api import microversion
from nova_rescue_lm.api import migrate_server
from nova_rescue_lm.compute import capability
from nova_rescue_lm.compute import destination_nodes
from nova_rescue_lm import nova_shape

LOG = logging.getLogger(__name__)

#: The server actions the package handles: the controller class and method
#: each is rebound to.
ACTIONS = {
    'os-migrateLive': (migrate_server.MigrateServerController,
                       '_migrate_live'),
    'evacuate': (evacuate.EvacuateController, '_evacuate'),
}


class APIRouterV21(routes.APIRouterV21):
    """Nova's router; only the ``os-migrateLive`` and ``evacuate`` server
    actions change.
    """

    def __init__(self, custom_routes=None):
        enabled = not nova_shape.api_differences()
        if enabled:
            microversion.apply()
        super().__init__(custom_routes)
        missing = self._rebind() if enabled else []
        if missing:
            microversion.revert()
            LOG.error('nova-rescue-lm: live migration and evacuation of '
                      'rescued servers are switched off in nova-api: no '
                      'route of nova\'s API router dispatches these '
                      'actions: %s.', ', '.join(missing))
        elif enabled:
            # what a rescued os-migrateLive needs, ready before the first
            destination_nodes.install()
            capability.build_placement_client()

    def _rebind(self):
        """Rebind every action of :data:`ACTIONS`; the ones not found."""
        resources = [route.defaults.get('controller')
                     for route in self.map.matchlist]
        missing = []
        for action, (controller, method) in ACTIONS.items():
            found = [resource for resource in resources
                     if isinstance(resource, wsgi.Resource) and
                     action in resource.wsgi_actions]
            if not found:
                missing.append(action)
                continue
            ours = getattr(controller(), method)
            for resource in found:
                resource.wsgi_actions[action] = ours
        return missing
