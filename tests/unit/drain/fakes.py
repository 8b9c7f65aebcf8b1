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

"""A compute API and a placement API as the drain sees them, in memory."""

from oslo_serialization import jsonutils

MAX = (2, 105)


def server(status, vm_state, task_state=None, name='s', id='id-1',
           host='src', **extra):
    return dict({'id': id, 'name': name, 'status': status,
                 'OS-EXT-STS:vm_state': vm_state,
                 'OS-EXT-STS:task_state': task_state,
                 'OS-EXT-SRV-ATTR:host': host}, **extra)


class Response:

    def __init__(self, status, body=None, headers=None):
        self.status_code = status
        self._body = body
        self.headers = headers or {}
        self.text = '' if body is None else jsonutils.dumps(body)

    def json(self):
        if self._body is None:
            raise ValueError('no body')
        return self._body


class FakeClient:
    """A compute API: servers move to 'dest' after ``polls`` GETs.

    An evacuated server ends as nova leaves it: SHUTOFF on 'dest' (ACTIVE
    if it was in ERROR), shown one GET earlier with no task but still on
    its host (nova moves the host last); listed in ``fail``, it ends in
    ERROR on its host; listed in ``record_error``, its evacuation record
    is in error at once and its task never ends. Hosts in ``down`` have
    their compute service down.
    """

    def __init__(self, servers, max_version=MAX, polls=1, post_status=202,
                 post_body=None, fail=(), down=(), record_error=()):
        self.servers = {s['id']: dict(s) for s in servers}
        self._max = max_version
        self.polls = polls
        self.post_status = post_status
        self.post_body = post_body
        self.fail = fail
        self.down = down
        self.record_error = record_error
        self.requests = []
        self.in_flight = set()
        self.evacuated = set()
        self.peak = 0
        self.shares = {}
        self.gets = {}

    def max_microversion(self):
        return self._max

    def get(self, url, microversion=None):
        return self.request('GET', url, microversion)

    def request(self, method, url, microversion=None, body=None):
        self.requests.append((method, url, microversion, body))
        parts = url.split('?')[0].split('/')
        if method == 'POST':
            if self.post_status != 202:
                return Response(self.post_status, self.post_body)
            sid = parts[2]
            status = 202
            if 'evacuate' in body:
                # nova sets the task before it answers, 200 for evacuate
                self.servers[sid]['OS-EXT-STS:task_state'] = 'rebuilding'
                self.servers[sid]['_done'] = (
                    'ACTIVE' if self.servers[sid]['OS-EXT-STS:vm_state'] ==
                    'error' else 'SHUTOFF')
                self.evacuated.add(sid)
                status = 200
            else:
                self.servers[sid].update({'status': 'MIGRATING',
                                          'OS-EXT-STS:task_state':
                                              'migrating'})
            self.in_flight.add(sid)
            self.peak = max(self.peak, len(self.in_flight))
            return Response(status, None,
                            {'x-openstack-request-id': 'req-' + sid})
        if url.startswith('/os-services'):
            host = url.split('host=')[1]
            if host in ('src', 'dest'):
                return Response(200, {'services': [
                    {'host': host,
                     'state': 'down' if host in self.down else 'up',
                     'status': (
                         'disabled' if host == 'src' else 'enabled')}]})
            return Response(200, {'services': []})
        if url.startswith('/servers/detail'):
            return Response(200, {'servers': list(self.servers.values())})
        if url.startswith('/os-hypervisors/detail'):
            return Response(200, {'hypervisors': [
                {'id': 'u-' + host, 'hypervisor_hostname': host,
                 'status': 'enabled', 'state': 'up',
                 'service': {'host': host}} for host in ('src', 'dest')]})
        if url.endswith('/shares'):
            return Response(200, {'shares': self.shares.get(parts[2], [])})
        if url.startswith('/os-migrations'):
            if 'migration_type=evacuation' in url:
                return Response(200, {'migrations': [
                    self._evacuation_record(url)]})
            return Response(200, {'migrations': [
                {'id': 7, 'status': 'error', 'source_compute': 'src',
                 'dest_compute': 'dest'}]})
        sid = parts[2]
        if len(parts) == 4:  # instance actions list
            return Response(200, {'instanceActions': [
                {'action': 'evacuate' if sid in self.evacuated
                 else 'live-migration', 'request_id': 'req-' + sid,
                 'message': None}]})
        if len(parts) == 5:
            if sid in self.evacuated:
                return Response(200, {'instanceAction': {'events': [
                    {'event': 'rebuild_server', 'result': 'Error',
                     'details': 'No valid host was found.'}]}})
            return Response(200, {'instanceAction': {'events': [
                {'event': 'compute_live_migration', 'result': 'Error',
                 'details': 'disk copy failed'}]}})
        srv = self.servers[sid]
        self.gets[sid] = self.gets.get(sid, 0) + 1
        if sid in self.record_error or sid not in self.in_flight:
            return Response(200, {'server': srv})
        if (sid in self.evacuated and sid not in self.fail and
                self.gets[sid] == self.polls - 1):
            # rebuilt and stopped on 'dest', not yet taken over by it
            return Response(200, {'server': dict(
                srv, status=srv['_done'], **{'OS-EXT-STS:task_state': None})})
        if self.gets[sid] >= self.polls:
            self.in_flight.discard(sid)
            if sid in self.evacuated:
                srv.update({'OS-EXT-STS:task_state': None, 'status': (
                    'ERROR' if sid in self.fail else srv['_done'])})
            else:
                srv.update({'OS-EXT-STS:task_state': None,
                            'status': srv['_done']})
            if sid not in self.fail:
                srv['OS-EXT-SRV-ATTR:host'] = 'dest'
        return Response(200, {'server': srv})

    def _evacuation_record(self, url):
        sid = url.split('instance_uuid=')[1].split('&')[0]
        if sid in self.record_error or (sid in self.fail and
                                        sid not in self.in_flight):
            status = 'error'
        else:
            status = 'accepted' if sid in self.in_flight else 'done'
        return {'id': 9, 'status': status, 'source_compute': 'src',
                'dest_compute': None}


class FakePlacement:
    """Placement: the resource providers carrying the trait."""

    def __init__(self, capable):
        self.capable = capable

    def get(self, url, microversion=None, raise_exc=True):
        assert url.endswith('required=CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED')
        return Response(200, {'resource_providers': [
            {'uuid': uuid} for uuid in self.capable]})


def host_servers(n=0):
    """``n`` ACTIVE servers, one RESCUED and one SHUTOFF, all on 'src'.

    ``_done`` is the status each shows once its migration is over.
    """
    servers = []
    for i in range(n):
        servers.append(server('ACTIVE', 'active', id='a%d' % i,
                              name='a%d' % i, _done='ACTIVE'))
    servers.append(server('RESCUE', 'rescued', id='r', name='r',
                          _done='RESCUE'))
    servers.append(server('SHUTOFF', 'stopped', id='s', name='s',
                          _done='SHUTOFF'))
    return servers
