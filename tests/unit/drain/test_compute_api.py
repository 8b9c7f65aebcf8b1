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

"""The drain's compute API client: versions, error messages, requests."""

from keystoneauth1 import exceptions as ks_exc
import testtools

from nova_rescue_lm.drain import compute_api
from tests.unit.drain import fakes


class EndpointData:

    def __init__(self, max_microversion, url='http://api/v2.1'):
        self.max_microversion = max_microversion
        self.url = url


class Adapter:
    """A keystoneauth adapter that records what it is asked."""

    endpoint_override = 'http://override'

    def __init__(self, data=None):
        self.data = data
        self.calls = []
        self.lookups = 0

    def get_endpoint_data(self):
        self.lookups += 1
        return self.data

    def request(self, url, method, **kwargs):
        self.calls.append((url, method, kwargs))
        return fakes.Response(200, {})


class VersionTest(testtools.TestCase):

    def test_tuple_and_str(self):
        self.assertEqual((2, 105), compute_api.version_tuple('2.105'))
        self.assertEqual((2, 68), compute_api.version_tuple((2, 68)))
        self.assertEqual('2.105', compute_api.version_str((2, 105)))
        self.assertEqual('2.9', compute_api.version_str('2.9'))

    def test_live_migrate_microversion(self):
        self.assertEqual('2.68',
                         compute_api.live_migrate_microversion((2, 105)))
        self.assertEqual('2.68', compute_api.live_migrate_microversion('2.68'))
        self.assertEqual('2.25',
                         compute_api.live_migrate_microversion((2, 67)))
        self.assertIsNone(compute_api.live_migrate_microversion((2, 24)))


class ComputeClientTest(testtools.TestCase):

    def test_max_microversion_is_read_once(self):
        adapter = Adapter(EndpointData((2, 105, 0)))
        client = compute_api.ComputeClient(adapter)
        self.assertEqual((2, 105), client.max_microversion())
        self.assertEqual((2, 105), client.max_microversion())
        self.assertEqual(1, adapter.lookups)

    def test_no_version_document_is_bad_input(self):
        for adapter, where in ((Adapter(None), 'http://override'),
                               (Adapter(EndpointData(None)),
                                'http://api/v2.1')):
            error = self.assertRaises(
                compute_api.DrainError,
                compute_api.ComputeClient(adapter).max_microversion)
            self.assertIn('The compute API at %s publishes no version '
                          'document' % where, str(error))

    def test_requests_return_errors(self):
        adapter = Adapter()
        client = compute_api.ComputeClient(adapter)
        client.get('/servers/x')
        client.get('/servers/x', '2.68')
        client.request('POST', '/servers/x/action', '2.105', {'a': 1})
        self.assertEqual([
            ('/servers/x', 'GET', {'raise_exc': False}),
            ('/servers/x', 'GET', {'raise_exc': False,
                                   'microversion': '2.68'}),
            ('/servers/x/action', 'POST', {
                'raise_exc': False, 'microversion': '2.105',
                'json': {'a': 1}})], adapter.calls)


class ErrorTest(testtools.TestCase):

    def test_error_message(self):
        self.assertEqual('no', compute_api.error_message(fakes.Response(
            400, {'badRequest': {'code': 400, 'message': 'no'}})))
        self.assertEqual('HTTP 502', compute_api.error_message(
            fakes.Response(502)))
        self.assertEqual("['x']", compute_api.error_message(
            fakes.Response(500, ['x'])))

    def test_check_status(self):
        self.assertEqual({'a': 1}, compute_api.check_status(
            fakes.Response(200, {'a': 1}), 'read'))
        error = self.assertRaises(
            compute_api.DrainError, compute_api.check_status,
            fakes.Response(403, {'forbidden': {'message': 'policy'}}),
            'list things')
        self.assertEqual('Not allowed to list things (403: policy). '
                         'Draining a host needs admin credentials.',
                         str(error))
        error = self.assertRaises(
            compute_api.DrainError, compute_api.check_status,
            fakes.Response(500, {'e': {'message': 'boom'}}), 'list things')
        self.assertEqual('Could not list things (500: boom).', str(error))

    def test_unreachable_stands_for_a_response(self):
        resp = compute_api.Unreachable(ks_exc.ConnectFailure('API down'))
        self.assertEqual(503, resp.status_code)
        self.assertEqual('API down', compute_api.error_message(resp))
