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

"""The compute API as the drain speaks to it.

The only module of the drain that sends HTTP requests: a few calls on a
keystoneauth ``Adapter`` (``service_type='compute'``), with errors returned
as responses, not raised, so that planning and running decide what an error
means for one server. It also turns nova's error bodies into the message an
operator reads and holds the one exception the drain raises for bad input.
Used by ``nova-rescue-lm-drain`` and by ``openstack rescued server
migrate`` alike.
"""

from keystoneauth1 import exceptions as ks_exc

#: Microversions whose os-migrateLive body is {host, block_migration}
#: (block_migration "auto" since 2.25, no "force" since 2.68), best first.
LIVE_MIGRATE_MICROVERSIONS = ('2.68', '2.25')
#: The microversion of every evacuation but a rescued server's: its body is
#: that of 2.68 ({host} without "force"), and from 2.95 on nova leaves every
#: evacuated server stopped (but one that was in ERROR), as it leaves a
#: rescued one at 2.106.
EVACUATE_MICROVERSION = '2.95'
#: Instance action events carry "details" (the failure message) since 2.84.
ACTION_DETAILS_MICROVERSION = '2.84'


class DrainError(Exception):
    """Bad input or an unusable API: a message for the operator, exit 2."""


def version_tuple(version):
    if isinstance(version, tuple):
        return version
    major, minor = str(version).split('.')
    return int(major), int(minor)


def version_str(version):
    return '%d.%d' % version_tuple(version)


def live_migrate_microversion(max_version):
    """The lowest microversion with the body we send, or None."""
    for version in LIVE_MIGRATE_MICROVERSIONS:
        if version_tuple(max_version) >= version_tuple(version):
            return version
    return None


def error_message(resp):
    """nova's error message out of an error response."""
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or '').strip() or 'HTTP %s' % resp.status_code
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, dict) and value.get('message'):
                return value['message']
    return str(body)


class ComputeClient:
    """The few compute API calls the drain needs, on a keystoneauth adapter.

    The adapter must have ``service_type='compute'`` (the microversion
    header is named after it); errors are returned, not raised.
    """

    def __init__(self, adapter):
        self.adapter = adapter
        self._max = None

    def max_microversion(self):
        if self._max is None:
            data = self.adapter.get_endpoint_data()
            if data is None or not data.max_microversion:
                raise DrainError(
                    'The compute API at %s publishes no version document '
                    'with a maximum microversion.' % (
                        data.url if data else self.adapter.endpoint_override))
            self._max = tuple(data.max_microversion)[:2]
        return self._max

    def request(self, method, url, microversion=None, body=None):
        kwargs = {'raise_exc': False}
        if microversion:
            kwargs['microversion'] = microversion
        if body is not None:
            kwargs['json'] = body
        return self.adapter.request(url, method, **kwargs)

    def get(self, url, microversion=None):
        return self.request('GET', url, microversion)


#: Errors after which the API may answer again: keep following migrations.
TRANSIENT = (ks_exc.ConnectionError, ks_exc.RequestTimeout)


class Unreachable:
    """Stands for a response while the API cannot be reached."""

    status_code = 503

    def __init__(self, error):
        self.text = str(error)

    def json(self):
        raise ValueError(self.text)


def check_status(resp, what):
    """The body of a successful response; DrainError for any error."""
    if resp.status_code == 403:
        raise DrainError(
            'Not allowed to %s (403: %s). Draining a host needs admin '
            'credentials.' % (what, error_message(resp)))
    if resp.status_code >= 400:
        raise DrainError('Could not %s (%s: %s).' % (
            what, resp.status_code, error_message(resp)))
    return resp.json()
