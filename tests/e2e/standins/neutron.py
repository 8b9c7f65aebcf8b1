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

"""STAND-IN for neutron, e2e bed only: enough for servers booted with
``"networks": "none"``. Every list call answers an empty list (the security
group list answers one ``default`` group); extension list is empty; anything
else is a 404. Not neutron; responses carry ``X-E2E-Stand-In: neutron``.
"""
from oslo_serialization import jsonutils

DEFAULT_SG = {'id': '6e2e0000-0000-4000-8000-00000000a5e9',
              'name': 'default', 'description': 'stand-in',
              'tenant_id': '6e2e0000000000000000000000000001',
              'project_id': '6e2e0000000000000000000000000001',
              'security_group_rules': []}


def _json(start, status, body):
    data = jsonutils.dumps(body).encode()
    start(status, [('Content-Type', 'application/json'),
                   ('Content-Length', str(len(data))),
                   ('X-E2E-Stand-In', 'neutron')])
    return [data]


def application(environ, start):
    path = environ.get('PATH_INFO', '/').rstrip('/') or '/'
    method = environ['REQUEST_METHOD']
    if path == '/':
        return _json(start, '200 OK', {'versions': [{
            'id': 'v2.0', 'status': 'CURRENT',
            'links': [{'rel': 'self',
                       'href': 'http://%s/v2.0/' % environ['HTTP_HOST']}]}]})
    if path.endswith('.json'):
        path = path[:-5]
    parts = path.strip('/').split('/')
    if parts[0] != 'v2.0':
        return _json(start, '404 Not Found', {})
    if method == 'GET' and len(parts) == 2:
        res = parts[1]
        if res == 'extensions':
            return _json(start, '200 OK', {'extensions': []})
        if res == 'security-groups':
            return _json(start, '200 OK', {'security_groups': [DEFAULT_SG]})
        return _json(start, '200 OK', {res.replace('-', '_'): []})
    return _json(start, '404 Not Found', {'NeutronError': {
        'type': 'NotFound', 'message': 'stand-in neutron: %s %s'
        % (method, path), 'detail': ''}})
