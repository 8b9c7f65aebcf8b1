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

"""The API reference's samples are what the API sends and answers.

Each request sample is sent as it is and each response is compared with
its sample, as nova's own api_samples tests do; only what differs from
cloud to cloud (the server's uuid, the endpoint) is put in the sample's
place before comparing.
"""

import os
import re

from oslo_serialization import jsonutils

from tests.functional import base

SAMPLES = os.path.join(base.REPO_ROOT, 'doc', 'source', 'reference',
                       'api-ref', 'samples')
UUID = re.compile(
    r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')


def sample(name):
    with open(os.path.join(SAMPLES, name), 'rb') as f:
        return jsonutils.load(f)


class TestApiSamples(base.RescueLiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.start_compute('compute-6')
        # a compute still on nova's own driver, and a capable one
        self.start_compute('compute-7', driver=base.STOCK_DRIVER)
        self.start_compute('compute-8')
        self.server = self._rescue_server(
            self._create_server(host='compute-6', networks='none'))

    def _action(self, name, microversion):
        return self._wsgi_request(
            base.PASTE_INI, 'POST', '/servers/%s/action' % self.server['id'],
            sample(name), microversion=microversion)

    def _assert_sample(self, name, resp, uuid=None):
        expected = jsonutils.dumps(sample(name), sort_keys=True)
        actual = jsonutils.dumps(resp.json, sort_keys=True)
        if uuid:
            actual = actual.replace(self.server['id'], uuid)
        self.assertEqual(expected, actual)

    def test_incapable_destination_400(self):
        resp = self._action('live-migrate-server-rescued-req.json', '2.105')
        self.assertEqual(400, resp.status_int)
        self._assert_sample('live-migrate-server-rescued-400-resp.json', resp)

    def test_below_2_105_409(self):
        resp = self._action('live-migrate-server-rescued-req.json', '2.104')
        self.assertEqual(409, resp.status_int)
        [uuid] = UUID.findall(jsonutils.dumps(sample(
            'live-migrate-server-rescued-409-resp.json')))
        self._assert_sample('live-migrate-server-rescued-409-resp.json',
                            resp, uuid=uuid)

    def test_no_host_202(self):
        resp = self._action('live-migrate-server-rescued-no-host-req.json',
                            '2.105')
        self.assertEqual(202, resp.status_int, resp.body)
        self.assertEqual(b'', resp.body)
        self._wait_for_migration_status(self.server, ['completed'])
        self.assertEqual('compute-8', self._host_of(self.server))

    def test_evacuate_incapable_destination_400(self):
        self._power_loss('compute-6')
        resp = self._action('evacuate-server-rescued-req.json', '2.106')
        self.assertEqual(400, resp.status_int)
        self._assert_sample('evacuate-server-rescued-400-resp.json', resp)

    def test_evacuate_below_2_106_409(self):
        self._power_loss('compute-6')
        resp = self._action('evacuate-server-rescued-req.json', '2.105')
        self.assertEqual(409, resp.status_int)
        [uuid] = UUID.findall(jsonutils.dumps(sample(
            'evacuate-server-rescued-409-resp.json')))
        self._assert_sample('evacuate-server-rescued-409-resp.json',
                            resp, uuid=uuid)

    def test_evacuate_no_host_200(self):
        self._power_loss('compute-6')
        resp = self._action('evacuate-server-rescued-no-host-req.json',
                            '2.106')
        self.assertEqual(200, resp.status_int, resp.body)
        self.assertEqual(b'', resp.body)
        self._wait_for_migration_status(self.server, ['done'])
        self._wait_for_state_change(self.server, 'SHUTOFF')
        self.assertEqual('compute-8', self._host_of(self.server))

    def test_version_document(self):
        resp = self._wsgi_request(base.PASTE_INI, 'GET', '/')
        self.assertEqual(200, resp.status_int)
        doc = jsonutils.loads(resp.body.decode().replace(
            'http://localhost/', 'http://openstack.example.com/'))
        self.assertEqual(sample('versions-get-v21-resp.json'), doc)
