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

"""Finding servers that cannot move from GET requests: blockers, the trait."""


from keystoneauth1 import exceptions as ks_exc
from oslo_serialization import jsonutils
import testtools

from nova_rescue_lm import capability
from nova_rescue_lm.drain import preflight

TRAIT = capability.TRAIT


class Response:

    def __init__(self, status, body=None):
        self.status_code = status
        self._body = body
        self.text = jsonutils.dumps(body)

    def json(self):
        return self._body


def hypervisor(uuid, node, host, status='enabled', state='up'):
    return {'id': uuid, 'hypervisor_hostname': node, 'status': status,
            'state': state, 'service': {'host': host, 'id': 'svc-' + host}}


class FakeCompute:

    def __init__(self, pages=None, status=200, shares=None):
        self.pages = pages or []
        self.status = status
        self.shares = shares or {}
        self.gets = []

    def get(self, url, microversion=None):
        self.gets.append((url, microversion))
        if '/shares' in url:
            sid = url.split('/')[2]
            if sid not in self.shares:
                return Response(404, {'itemNotFound': {'message': 'no'}})
            return Response(200, {'shares': self.shares[sid]})
        if self.status != 200:
            return Response(self.status, {'forbidden': {'message': 'no'}})
        index = 0
        if 'marker=' in url:
            marker = url.split('marker=')[1]
            index = 1 + [page[-1]['id'] for page in self.pages].index(marker)
        page = self.pages[index]
        body = {'hypervisors': page}
        if index + 1 < len(self.pages):
            body['hypervisors_links'] = [{'rel': 'next', 'href': 'x'}]
        return Response(200, body)


class FakePlacement:

    def __init__(self, capable=(), status=200, error=None):
        self.capable = capable
        self.status = status
        self.error = error
        self.gets = []

    def get(self, url, microversion=None, raise_exc=True):
        self.gets.append((url, microversion, raise_exc))
        if self.error:
            raise self.error
        return Response(self.status, {'resource_providers': [
            {'uuid': uuid} for uuid in self.capable]})


class FlavorBlockerTest(testtools.TestCase):

    def _blocker(self, **specs):
        return preflight.flavor_blocker({'flavor': {'extra_specs': specs}})

    def test_movable(self):
        self.assertIsNone(preflight.flavor_blocker({}))
        self.assertIsNone(self._blocker())
        self.assertIsNone(self._blocker(**{'hw:mem_encryption': 'false'}))
        self.assertIsNone(self._blocker(**{
            'hw:tpm_version': '2.0', 'hw:tpm_secret_security': 'host'}))

    def test_blocked(self):
        self.assertIn('accelerators (flavor extra spec '
                      'accel:device_profile=gpu)',
                      self._blocker(**{'accel:device_profile': 'gpu'}))
        for value in ('True', 'yes', '1'):
            self.assertIn('memory encryption', self._blocker(
                **{'hw:mem_encryption': value}))
        self.assertIn("secret security 'user'",
                      self._blocker(**{'hw:tpm_version': '2.0'}))
        self.assertIn("secret security 'deployment'", self._blocker(**{
            'hw:tpm_version': '2.0',
            'hw:tpm_secret_security': 'deployment'}))


class EvacuationFlavorBlockerTest(testtools.TestCase):

    def _blocker(self, **specs):
        return preflight.evacuation_flavor_blocker(
            {'flavor': {'extra_specs': specs}})

    def test_evacuable(self):
        self.assertIsNone(preflight.evacuation_flavor_blocker({}))
        self.assertIsNone(self._blocker(**{'accel:device_profile': 'gpu'}))
        self.assertIsNone(self._blocker(**{'hw:mem_encryption': 'true'}))

    def test_any_vtpm_is_blocked(self):
        for security in ('host', 'user', 'deployment'):
            self.assertEqual(
                'it has a vTPM (flavor extra spec hw:tpm_version=2.0); nova '
                'does not evacuate vTPM servers',
                self._blocker(**{'hw:tpm_version': '2.0',
                                 'hw:tpm_secret_security': security}))


class ShareBlockerTest(testtools.TestCase):

    def test_shares(self):
        compute = FakeCompute(shares={'a': [{'share_id': 's'}], 'b': []})
        self.assertEqual(
            'it has 1 share(s) attached (openstack server share list); nova '
            'does not live-migrate servers with shares',
            preflight.share_blocker(compute, 'a', (2, 105)))
        self.assertEqual(
            'it has 1 share(s) attached (openstack server share list); nova '
            'does not evacuate servers with shares',
            preflight.share_blocker(compute, 'a', (2, 106), 'evacuate'))
        self.assertIsNone(preflight.share_blocker(compute, 'b', (2, 105)))
        # Unknown (404, no permission): the API decides.
        self.assertIsNone(preflight.share_blocker(compute, 'c', (2, 105)))
        self.assertEqual('2.97', compute.gets[0][1])

    def test_not_asked_below_2_97(self):
        compute = FakeCompute(shares={'a': [{'share_id': 's'}]})
        self.assertIsNone(preflight.share_blocker(compute, 'a', (2, 96)))
        self.assertEqual([], compute.gets)


class CapabilityTest(testtools.TestCase):

    HYPERVISORS = [
        hypervisor('u-src', 'src.node', 'src'),
        hypervisor('u-dest', 'dest.node', 'dest'),
        hypervisor('u-off', 'off.node', 'off', status='disabled'),
        hypervisor('u-down', 'down.node', 'down', state='down'),
        hypervisor('u-stock', 'stock.node', 'stock'),
        hypervisor('u-mixed1', 'mixed1', 'mixed'),
        hypervisor('u-mixed2', 'mixed2', 'mixed'),
    ]

    def _read(self, capable, pages=None):
        compute = FakeCompute(pages or [self.HYPERVISORS])
        placement = FakePlacement(capable)
        view, why = preflight.Capability.read(compute, placement)
        self.assertIsNone(why)
        self.assertEqual([('/resource_providers?required=%s' % TRAIT,
                           '1.18', False)], placement.gets)
        self.assertEqual('2.53', compute.gets[0][1])
        return view

    def test_source_and_target(self):
        view = self._read(['u-src', 'u-dest', 'u-off', 'u-down', 'u-mixed1'])
        self.assertIsNone(view.source_reason('src', 'src.node'))
        self.assertIn('its compute node stock.node lacks the %s trait'
                      % TRAIT, view.source_reason('stock', 'stock.node'))
        # A node the hypervisor list does not show: left to the API.
        self.assertIsNone(view.source_reason('src', 'other.node'))
        self.assertIsNone(view.target_reason('dest'))
        self.assertIn('the target host mixed has compute node(s) without '
                      'the %s trait (mixed2)' % TRAIT,
                      view.target_reason('mixed'))
        self.assertIn('(stock.node)', view.target_reason('stock'))

    def test_destinations_are_enabled_up_and_capable(self):
        view = self._read(['u-src', 'u-dest', 'u-off', 'u-down', 'u-mixed1'])
        self.assertEqual(['dest', 'mixed'], view.destinations('src'))
        self.assertIsNone(view.no_destination_reason('src'))
        view = self._read(['u-src', 'u-off', 'u-down'])
        self.assertEqual([], view.destinations('src'))
        self.assertIn('no other enabled, up compute host has a node with '
                      'the %s trait' % TRAIT,
                      view.no_destination_reason('src'))

    def test_hypervisor_pages(self):
        view = self._read(['u-dest'], pages=[self.HYPERVISORS[:1],
                                             self.HYPERVISORS[1:]])
        self.assertEqual(['dest'], view.destinations('src'))

    def test_unreadable(self):
        cases = (
            (None, FakeCompute([self.HYPERVISORS]),
             'no placement endpoint was given'),
            (FakePlacement(status=403), FakeCompute([self.HYPERVISORS]),
             'placement answered 403 to GET /resource_providers'),
            (FakePlacement(error=ks_exc.EndpointNotFound('none')),
             FakeCompute([self.HYPERVISORS]), 'no placement endpoint'),
            (FakePlacement(error=ks_exc.ConnectFailure('down')),
             FakeCompute([self.HYPERVISORS]),
             'placement cannot be reached (down)'),
            (FakePlacement(), FakeCompute(status=403),
             'the compute API answered 403 to GET /os-hypervisors/detail'),
        )
        for placement, compute, why in cases:
            view, found = preflight.Capability.read(compute, placement)
            self.assertIsNone(view)
            self.assertIn(why, found)
