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

"""STAND-IN for keystonemiddleware.auth_token in the e2e bed's nova-api.

Replaces only the ``authtoken`` filter of the package's api-paste.ini (every
other filter and app of that file is used unchanged). It trusts a fixed set
of tokens and sets the same headers keystonemiddleware would set for a
validated project-scoped token, so nova's own ``keystonecontext`` filter and
policy engine run as in production:

  e2e-admin  -> user e2e-admin, project e2e-project, roles admin,member,reader
  e2e-member -> user e2e-member, project e2e-project, roles member,reader

Any other token is a 401. This is not keystone.
"""
import webob.dec
import webob.exc

PROJECT = '6e2e0000000000000000000000000001'
TOKENS = {
    'e2e-admin': ('6e2e00000000000000000000000000a1', 'admin,member,reader'),
    'e2e-member': ('6e2e00000000000000000000000000b1', 'member,reader'),
}
_STRIP = ('X-Identity-Status', 'X-User-Id', 'X-User-Name', 'X-Project-Id',
          'X-Project-Name', 'X-Roles', 'X-Tenant-Id', 'X-Tenant-Name',
          'X-User-Domain-Id', 'X-Project-Domain-Id', 'X-Service-Catalog',
          'X-System-Scope', 'X-Is-Admin-Project')


class StandInAuthToken(object):
    def __init__(self, app):
        self.app = app

    @webob.dec.wsgify
    def __call__(self, req):
        for h in _STRIP:
            req.headers.pop(h, None)
        token = req.headers.get('X-Auth-Token')
        if token not in TOKENS:
            raise webob.exc.HTTPUnauthorized(
                headers={'X-E2E-Stand-In': 'auth'})
        user, roles = TOKENS[token]
        req.headers.update({
            'X-Identity-Status': 'Confirmed',
            'X-User-Id': user, 'X-User-Name': token,
            'X-User-Domain-Id': 'default',
            'X-Project-Id': PROJECT, 'X-Project-Name': 'e2e-project',
            'X-Project-Domain-Id': 'default',
            'X-Roles': roles, 'X-Service-Catalog': '[]',
            'X-Is-Admin-Project': 'True',
        })
        return req.get_response(self.app)


def filter_factory(global_conf, **local_conf):
    def _filter(app):
        return StandInAuthToken(app)
    return _filter
