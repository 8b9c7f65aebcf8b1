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

"""Sessions and the XML-RPC envelope: what every call relies on."""

import threading
import urllib.parse
import xmlrpc.client

from os_xenapi.client import XenAPI

from tests.xapisim_contract import base


class SessionTest(base.ContractTestCase):

    def test_login_gives_a_session_and_the_api_version(self):
        self.assertTrue(self.session.handle.startswith('OpaqueRef:'))
        major, minor = self.session.API_version.split('.')
        self.assertGreaterEqual(int(major), 2)

    def test_login_with_two_parameters_uses_the_defaults(self):
        # version and originator have defaults in the datamodel.
        result = self.raw('session.login_with_password', base.USER,
                          base.PASSWORD)
        self.assertEqual('Success', result['Status'], result)
        self.raw('session.logout', result['Value'])

    def test_wrong_password_is_refused(self):
        result = self.raw('session.login_with_password', base.USER,
                          'not-' + base.PASSWORD, '1.0', 'test')
        self.assertEqual('Failure', result['Status'])
        self.assertEqual('SESSION_AUTHENTICATION_FAILED',
                         result['ErrorDescription'][0])
        self.assertEqual(base.USER, result['ErrorDescription'][1])

    def test_unknown_session_is_session_invalid(self):
        bogus = 'OpaqueRef:00000000-0000-0000-0000-000000000000'
        result = self.raw('VM.get_all', bogus)
        self.assertEqual(['SESSION_INVALID', bogus],
                         result['ErrorDescription'])

    def test_logout_invalidates_the_session(self):
        s = self.pool.session()
        handle = s.handle
        s.xenapi.session.logout()
        result = self.raw('pool.get_all', handle)
        self.assertEqual(['SESSION_INVALID', handle],
                         result['ErrorDescription'])

    def test_unknown_method(self):
        result = self.raw('VM.levitate', self.session.handle, 'x')
        self.assertEqual(['MESSAGE_METHOD_UNKNOWN', 'VM.levitate'],
                         result['ErrorDescription'])

    def test_wrong_parameter_count(self):
        vm = self.create_vm()
        result = self.raw('VM.start', self.session.handle, vm)
        self.assertEqual(
            ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'VM.start', '3', '1'],
            result['ErrorDescription'])

    def test_integers_travel_as_strings(self):
        host = self.master
        metrics = self.x.host_metrics.get_record(
            self.x.host.get_metrics(host))
        self.assertIsInstance(metrics['memory_total'], str)
        self.assertGreater(int(metrics['memory_total']), 0)
        self.assertIsInstance(self.x.host.get_API_version_major(host), str)

    def test_integers_are_accepted_as_strings_or_ints(self):
        vdi = self.create_vdi(size_mb=1)
        self.x.VDI.resize(vdi, str(2 * base.MiB))
        self.assertEqual(str(2 * base.MiB), self.x.VDI.get_virtual_size(vdi))
        vm = self.create_vm()
        self.x.VM.set_VCPUs_max(vm, 2)  # an XML-RPC <int>
        self.assertEqual('2', self.x.VM.get_VCPUs_max(vm))

    def _member_url(self):
        """URL of a host that is not the pool master (skips without)."""
        master = self.master
        for host in self.need_hosts(2):
            if host == master:
                continue
            if self.sim is not None:
                return self.sim.member_url(self.x.host.get_name_label(host))
            url = urllib.parse.urlsplit(self.pool.url)
            address = self.x.host.get_address(host)
            netloc = address if url.port is None else '%s:%d' % (
                address, url.port)
            return urllib.parse.urlunsplit(url._replace(netloc=netloc))

    def test_password_login_at_a_member_names_the_master(self):
        result = self.raw('session.login_with_password', base.USER,
                          base.PASSWORD, '1.0', 'test',
                          url=self._member_url())
        self.assertEqual('Failure', result['Status'])
        self.assertEqual(
            ['HOST_IS_SLAVE', self.x.host.get_address(self.master)],
            result['ErrorDescription'])

    def test_master_session_is_refused_at_a_member(self):
        # session_check.ml: a member does not forward the call; a session
        # a client made with a password ("non-pool") is HOST_IS_SLAVE
        # there, naming the master's address.
        result = self.raw('pool.get_all', self.session.handle,
                          url=self._member_url())
        self.assertEqual(
            {'Status': 'Failure', 'ErrorDescription': [
                'HOST_IS_SLAVE', self.x.host.get_address(self.master)]},
            result)

    def test_unknown_session_at_a_member_is_session_invalid(self):
        bogus = 'OpaqueRef:00000000-0000-0000-0000-000000000000'
        result = self.raw('pool.get_all', bogus, url=self._member_url())
        self.assertEqual(['SESSION_INVALID', bogus],
                         result['ErrorDescription'])

    def test_slave_local_login_is_good_at_that_member_only(self):
        url = self._member_url()
        result = self.raw('session.slave_local_login_with_password',
                          base.USER, base.PASSWORD, url=url)
        self.assertEqual('Success', result['Status'], result)
        local = result['Value']
        try:
            self.assertEqual('Success', self.raw(
                'host.get_all', local, url=url)['Status'])
            # Local sessions live in that host's memory, not in the
            # pool's database: the master does not know it.
            self.assertEqual(['SESSION_INVALID', local], self.raw(
                'host.get_all', local)['ErrorDescription'])
        finally:
            self.raw('session.local_logout', local, url=url)

    def test_slave_local_login(self):
        result = self.raw('session.slave_local_login_with_password',
                          base.USER, base.PASSWORD)
        self.assertEqual('Success', result['Status'], result)
        self.raw('session.local_logout', result['Value'])

    def test_client_logs_in_again_after_sessions_expire(self):
        self.sim_only('expiring every session needs the simulator')
        before = self.session.handle
        self.sim.expire_sessions()
        # os_xenapi sees SESSION_INVALID, logs in again and retries.
        self.assertEqual(self.pool_ref, self.x.pool.get_all()[0])
        self.assertNotEqual(before, self.session.handle)

    def test_async_call_runs_as_a_task(self):
        vm = self.create_vm()
        task = self.x.Async.VM.start(vm, False, False)
        rec = self.wait_task(task)
        self.assertEqual('success', rec['status'], rec)
        self.assertEqual('Running', self.x.VM.get_power_state(vm))
        self.x.task.destroy(task)

    def test_async_failure_lands_in_the_task(self):
        vm = self.create_vm()
        task = self.x.Async.VM.clean_shutdown(vm)
        rec = self.wait_task(task)
        self.assertEqual('failure', rec['status'])
        self.assertEqual(['VM_BAD_POWER_STATE', vm, 'running', 'halted'],
                         rec['error_info'])
        self.x.task.destroy(task)

    def test_sessions_from_many_threads(self):
        # One session per thread: an os_xenapi Session is one HTTP
        # connection and is not safe to share between threads.
        sr = self.default_sr
        results = []
        errors = []

        def work():
            try:
                s = self.pool.session()
                vdi = s.xenapi.VDI.create({
                    'name_label': base.PREFIX + 'thread',
                    'name_description': '', 'SR': sr,
                    'virtual_size': str(base.MiB), 'type': 'user',
                    'sharable': False, 'read_only': False,
                    'other_config': {}, 'xenstore_data': {},
                    'sm_config': {}, 'tags': []})
                results.append(s.xenapi.VDI.get_uuid(vdi))
                s.xenapi.VDI.destroy(vdi)
                s.xenapi.session.logout()
            except (XenAPI.Failure, OSError) as e:
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual([], errors)
        self.assertEqual(8, len(set(results)))


class MasterChangeTest(base.testtools.TestCase):
    """A new pool master: ``pool.designate_new_master`` or HA failover.

    Simulator only (it would change a real pool's master). xen-api:
    xapi_pool.ml (designate_new_master), session_check.ml (HOST_IS_SLAVE),
    datamodel.ml (sessions and tasks are ``PersistNothing``: a restarted
    xapi has none).
    """

    def setUp(self):
        super().setUp()
        if base.REAL_URL:
            self.skipTest('simulator only: changes the pool master')
        self.sim = base.Simulator(
            pool_name='pool-m', hosts=('xs-m1', 'xs-m2', 'xs-m3'),
            username=base.USER, password=base.PASSWORD).start()
        self.addCleanup(self.sim.stop)
        self.old_url = self.sim.url
        self.session = base.session(self.old_url)
        self.x = self.session.xenapi
        self.new = self.sim.host_refs['xs-m2']

    def raw(self, url, method, *params):
        return getattr(xmlrpc.client.ServerProxy(url), method)(*params)

    def login(self, url):
        return self.raw(url, 'session.login_with_password', base.USER,
                        base.PASSWORD, '1.0', 'test')

    def test_designate_new_master(self):
        task = self.x.task.create('t', 'lost with the old master')
        new_address = self.x.host.get_address(self.new)
        self.x.pool.designate_new_master(self.new)
        self.assertEqual('http://%s:%s' % (
            new_address, urllib.parse.urlsplit(self.old_url).port),
            self.sim.url)
        handle = self.session.handle
        for url in (self.old_url, self.sim.url):
            self.assertEqual(['SESSION_INVALID', handle], self.raw(
                url, 'pool.get_all', handle)['ErrorDescription'])
        # Logging in again where the client was: sent to the new master.
        self.assertEqual(['HOST_IS_SLAVE', new_address],
                         self.login(self.old_url)['ErrorDescription'])
        result = self.login(self.sim.url)
        self.assertEqual('Success', result['Status'], result)
        session = result['Value']
        pool = self.raw(self.sim.url, 'pool.get_all', session)['Value'][0]
        self.assertEqual(self.new, self.raw(
            self.sim.url, 'pool.get_master', session, pool)['Value'])
        self.assertEqual('HANDLE_INVALID', self.raw(
            self.sim.url, 'task.get_record', session, task)[
                'ErrorDescription'][0])
        # The new master's sessions are refused at the old one.
        self.assertEqual(['HOST_IS_SLAVE', new_address], self.raw(
            self.old_url, 'pool.get_all', session)['ErrorDescription'])

    def test_ha_failover(self):
        member = self.sim.member_url('xs-m3')
        self.sim.fail_over('xs-m2')
        self.assertRaises(OSError, self.login, self.old_url)
        new_address = self.sim.api.db.get('host', self.new)['address']
        self.assertEqual(['HOST_IS_SLAVE', new_address],
                         self.login(member)['ErrorDescription'])
        self.assertEqual('Success', self.login(self.sim.url)['Status'])
