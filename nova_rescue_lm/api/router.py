"""The compute API router with os-migrateLive rebound to our controller."""

from nova.api.openstack.compute import routes
from nova.api.openstack import wsgi

from nova_rescue_lm.api import microversion
from nova_rescue_lm.api import migrate_server
from nova_rescue_lm import release

ACTION = 'os-migrateLive'


class APIRouterV21(routes.APIRouterV21):
    """Nova's router; only the ``os-migrateLive`` server action changes."""

    def __init__(self, custom_routes=None):
        microversion.apply()
        super().__init__(custom_routes)
        controller = migrate_server.MigrateServerController()
        rebound = 0
        for route in self.map.matchlist:
            resource = route.defaults.get('controller')
            if (isinstance(resource, wsgi.Resource) and
                    ACTION in resource.wsgi_actions):
                resource.wsgi_actions[ACTION] = controller._migrate_live
                rebound += 1
        if not rebound:
            release.refuse('no route of its API router dispatches the %s '
                           'action' % ACTION)
