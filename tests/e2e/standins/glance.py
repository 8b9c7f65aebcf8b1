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

"""STAND-IN for glance (image API v2), e2e bed only: serves the images
listed in $E2E_GLANCE_IMAGES (a JSON file written by tools/e2e/bed.sh) with
image show, image data download, image list and the image schema. Not
glance; responses carry ``X-E2E-Stand-In: glance``.
Run: uwsgi --http-socket 127.0.0.1:PORT --wsgi-file standins/glance.py
"""
import os
import re

from oslo_serialization import jsonutils

BASE_PROPS = ['id', 'name', 'status', 'visibility', 'protected', 'os_hidden',
              'checksum', 'os_hash_algo', 'os_hash_value', 'owner', 'size',
              'virtual_size', 'min_ram', 'min_disk', 'created_at',
              'updated_at', 'tags', 'direct_url', 'locations', 'self',
              'file', 'schema', 'disk_format', 'container_format',
              'stores']
SCHEMA = {
    'name': 'image',
    'properties': {
        p: {'description': 'base property'} for p in BASE_PROPS},
    'additionalProperties': {'type': 'string'},
    'links': [{'rel': 'self', 'href': '{self}'},
              {'rel': 'enclosure', 'href': '{file}'},
              {'rel': 'describedby', 'href': '{schema}'}],
}
SCHEMA['properties']['disk_format'] = {
    'description': 'base property',
    'enum': [None, 'ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw',
             'qcow2', 'vdi', 'iso', 'ploop']}
SCHEMA['properties']['container_format'] = {
    'description': 'base property',
    'enum': [None, 'ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker',
             'compressed']}


def _images():
    with open(os.environ['E2E_GLANCE_IMAGES'], 'rb') as f:
        return jsonutils.load(f)


def _public(img):
    body = {k: v for k, v in img.items() if k != 'path'}
    body['self'] = '/v2/images/%s' % img['id']
    body['file'] = '/v2/images/%s/file' % img['id']
    body['schema'] = '/v2/schemas/image'
    return body


def _json(start, status, body):
    data = jsonutils.dumps(body).encode()
    start(status, [('Content-Type', 'application/json'),
                   ('Content-Length', str(len(data))),
                   ('X-E2E-Stand-In', 'glance')])
    return [data]


def application(environ, start):
    path = environ.get('PATH_INFO', '/').rstrip('/') or '/'
    method = environ['REQUEST_METHOD']
    if path in ('/', '/versions'):
        return _json(start, '300 Multiple Choices', {'versions': [{
            'id': 'v2.16', 'status': 'CURRENT',
            'links': [{'rel': 'self',
                       'href': 'http://%s/v2/' % environ['HTTP_HOST']}]}]})
    if path == '/v2/schemas/image':
        return _json(start, '200 OK', SCHEMA)
    if path == '/v2/schemas/images':
        return _json(start, '200 OK', {'name': 'images', 'properties': {
            'images': {'type': 'array', 'items': SCHEMA}}})
    images = _images()
    if path == '/v2/images' and method == 'GET':
        return _json(start, '200 OK', {'images': [
            _public(i) for i in images.values()], 'first': '/v2/images',
            'schema': '/v2/schemas/images'})
    m = re.match(r'^/v2/images/([^/]+)(/file)?$', path)
    if m and method in ('GET', 'HEAD') and m.group(1) in images:
        img = images[m.group(1)]
        if not m.group(2):
            return _json(start, '200 OK', _public(img))
        size = os.path.getsize(img['path'])
        start('200 OK', [('Content-Type', 'application/octet-stream'),
                         ('Content-Length', str(size)),
                         ('Content-MD5', img['checksum']),
                         ('X-E2E-Stand-In', 'glance')])
        if method == 'HEAD':
            return [b'']
        return _file_iter(img['path'])
    return _json(start, '404 Not Found', {'message': 'stand-in glance: '
                                          'no such image or call %s %s'
                                          % (method, path)})


def _file_iter(path):
    with open(path, 'rb') as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            yield chunk
