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

"""Microversion 2.105 is advertised and accepted when nova has the shape."""

from unittest import mock

from nova.api.openstack import api_version_request
from nova.api.openstack.compute import versions
from nova.api.openstack import wsgi
from nova import exception as nova_exception
from nova import test
from oslo_serialization import jsonutils
import webob

from nova_rescue_lm import api
from nova_rescue_lm.api import microversion
from nova_rescue_lm import nova_shape
from tests.unit import fakes


def _request_version(header):
    req = wsgi.Request.blank('/servers')
    req.headers['OpenStack-API-Version'] = 'compute %s' % header
    req.set_api_version_request()
    return req.api_version_request.get_string()


class ApplyTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fakes.MicroversionState())

    def test_raises_the_maximum_everywhere(self):
        microversion.apply()
        self.assertEqual('2.106', api_version_request._MAX_API_VERSION)
        self.assertEqual('2.106', versions.VERSIONS['v2.1']['version'])
        self.assertEqual('2.106', _request_version('latest'))
        self.assertEqual('2.105', _request_version('2.105'))
        self.assertEqual('2.106', _request_version('2.106'))

    def test_stock_nova_refuses_2_105(self):
        """Guards the fixture: without apply() 2.105 is out of range."""
        self.assertRaises(nova_exception.InvalidGlobalAPIVersion,
                          _request_version, '2.105')

    def test_idempotent(self):
        microversion.apply()
        microversion.apply()
        self.assertEqual('2.106', api_version_request._MAX_API_VERSION)
        self.assertEqual('2.106', versions.VERSIONS['v2.1']['version'])
        self.assertRaises(nova_exception.InvalidGlobalAPIVersion,
                          _request_version, '2.107')

    def test_revert_serves_novas_maximum_again(self):
        microversion.apply()
        microversion.revert()
        self.assertEqual('2.104', api_version_request._MAX_API_VERSION)
        self.assertEqual('2.104', versions.VERSIONS['v2.1']['version'])
        self.assertRaises(nova_exception.InvalidGlobalAPIVersion,
                          _request_version, '2.105')


class VersionDocumentsTest(test.NoDBTestCase):
    """The paste version apps advertise 2.106 whichever is loaded first."""

    def setUp(self):
        super().setUp()
        self.useFixture(fakes.MicroversionState())

    def _get(self, app, path):
        resp = webob.Request.blank(path).get_response(app)
        self.assertIn(resp.status_int, (200, 300))
        return jsonutils.loads(resp.body)

    def test_root_versions_document(self):
        doc = self._get(api.Versions.factory({}), '/')
        v21 = [v for v in doc['versions'] if v['id'] == 'v2.1']
        self.assertEqual('2.106', v21[0]['version'])

    def test_v2_version_document(self):
        doc = self._get(api.VersionsV2.factory({}), '/v2.1')
        self.assertEqual('2.106', doc['version']['version'])

    def test_novas_documents_when_nova_differs(self):
        with mock.patch.object(nova_shape, '_api_differences',
                               return_value=['something differs']):
            root = self._get(api.Versions.factory({}), '/')
            v2 = self._get(api.VersionsV2.factory({}), '/v2.1')
        self.assertEqual('2.104', v2['version']['version'])
        self.assertEqual(['2.104'], [v['version'] for v in root['versions']
                                     if v['id'] == 'v2.1'])
