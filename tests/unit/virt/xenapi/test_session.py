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

"""The session pool: bounded, timed out, logged in again, eventlet-free."""

import http.client
import io
import os
import subprocess
import sys
import threading
import time

import fixtures
from nova import test

from nova_rescue_lm.virt.xenapi import session as xenapi_session
from tests.unit.virt.xenapi import base

LOGIN = 'session.login_with_password'


class SessionPoolTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.sim = base.start_simulator(self, hosts=('xs-a1',))

    def pool(self, **kwargs):
        kwargs.setdefault('password', 'secret')
        pool = xenapi_session.SessionPool(self.sim.url, 'root', **kwargs)
        self.addCleanup(pool.close)
        return pool

    def test_calls_reuse_one_session(self):
        pool = self.pool()
        for _ in range(5):
            self.assertEqual(1, len(pool.call('pool.get_all')))
        self.assertEqual(1, self.sim.faults.count(LOGIN))

    def test_forgotten_session_is_logged_in_again(self):
        pool = self.pool()
        pool.call('pool.get_all')
        self.sim.expire_sessions()  # XAPI restarted, say
        self.assertEqual(1, len(pool.call('pool.get_all')))
        self.assertEqual(2, self.sim.faults.count(LOGIN))

    def test_no_more_sessions_than_the_pool_size(self):
        pool = self.pool(size=2)
        # Each call takes a while, so the threads overlap.
        self.sim.faults.inject('host.get_all', delay=0.2, times=None)
        results = []
        threads = [threading.Thread(
            target=lambda: results.append(pool.call('host.get_all')))
            for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(6, len(results))
        self.assertEqual(2, self.sim.faults.count(LOGIN))

    def test_a_call_that_hangs_times_out_and_its_session_is_dropped(self):
        pool = self.pool(call_timeout=1)
        pool.call('pool.get_all')
        self.sim.faults.inject('host.get_all', delay=3)
        self.assertRaises(xenapi_session.XenAPIConnectionError,
                          pool.call, 'host.get_all')
        pool.call('host.get_all')
        self.assertEqual(2, self.sim.faults.count(LOGIN))

    def test_xapi_errors_keep_the_session(self):
        pool = self.pool()
        exc = self.assertRaises(xenapi_session.Failure, pool.call,
                                'VM.get_record', 'OpaqueRef:nope')
        self.assertEqual('HANDLE_INVALID', xenapi_session.failure_code(exc))
        pool.call('pool.get_all')
        self.assertEqual(1, self.sim.faults.count(LOGIN))

    def test_wrong_password_says_so(self):
        pool = self.pool(password='wrong')
        exc = self.assertRaises(xenapi_session.XenAPIConnectionError,
                                pool.call, 'pool.get_all')
        self.assertIn('SESSION_AUTHENTICATION_FAILED', str(exc))
        self.assertIn(self.sim.url, str(exc))

    def test_member_url_is_followed_to_the_pool_master(self):
        sim = base.start_simulator(self, pool_name='pool-b',
                                   hosts=('xs-b1', 'xs-b2'))
        member = sim.member_url('xs-b2')
        pool = xenapi_session.SessionPool(member, 'root', 'secret')
        self.addCleanup(pool.close)
        self.assertEqual([sim.pool_ref], pool.call('pool.get_all'))
        self.assertEqual(sim.url, pool.url)
        self.assertEqual('127.0.0.2', pool.member_address)
        self.assertEqual(
            1, sim.faults.count('session.login_with_password@member'))
        sim.expire_sessions()  # logs in again at the master, not the member
        pool.call('pool.get_all')
        self.assertEqual(
            1, sim.faults.count('session.login_with_password@member'))
        self.assertEqual(2, sim.faults.count(LOGIN))

    def test_new_master_is_found_without_a_restart(self):
        # pool.designate_new_master: every session is lost, the old
        # master answers HOST_IS_SLAVE naming the new one.
        sim = base.start_simulator(self, pool_name='pool-m',
                                   hosts=('xs-m1', 'xs-m2', 'xs-m3'))
        pool = xenapi_session.SessionPool(sim.url, 'root', 'secret')
        self.addCleanup(pool.close)
        old_url = sim.url
        self.assertEqual(sim.host_refs['xs-m1'], pool.call(
            'pool.get_master', sim.pool_ref))
        pool.call('pool.designate_new_master', sim.host_refs['xs-m2'])
        self.assertEqual(sim.host_refs['xs-m2'], pool.call(
            'pool.get_master', sim.pool_ref))
        self.assertNotEqual(old_url, sim.url)
        self.assertEqual(sim.url, pool.url)
        self.assertEqual(
            1, sim.faults.count('session.login_with_password@member'))
        # The sessions of the former master are not used again.
        pool.call('pool.get_all')
        self.assertEqual(2, sim.faults.count(LOGIN))

    def test_master_session_at_a_member_follows_to_the_master(self):
        # What a pooled session meets after a master change when its own
        # session is still known: HOST_IS_SLAVE on the call itself.
        sim = base.start_simulator(self, pool_name='pool-m',
                                   hosts=('xs-m1', 'xs-m2'))
        pool = xenapi_session.SessionPool(sim.url, 'root', 'secret')
        self.addCleanup(pool.close)
        pool.call('pool.get_all')
        with sim.api.lock:
            sim.api.db.get('pool', sim.pool_ref)['master'] = (
                sim.host_refs['xs-m2'])
        self.assertEqual([sim.pool_ref], pool.call('pool.get_all'))
        self.assertEqual(sim.url, pool.url)
        self.assertEqual(2, sim.faults.count(LOGIN))  # at the new master

    def test_ha_failover_finds_the_new_master_through_a_member(self):
        sim = base.start_simulator(self, pool_name='pool-m',
                                   hosts=('xs-m1', 'xs-m2', 'xs-m3'))
        pool = xenapi_session.SessionPool(sim.url, 'root', 'secret',
                                          login_timeout=2)
        self.addCleanup(pool.close)
        pool.call('pool.get_all')
        sim.fail_over('xs-m3')  # xs-m1 no longer answers at all
        self.assertEqual(sim.host_refs['xs-m3'], pool.call(
            'pool.get_master', sim.pool_ref))
        self.assertEqual(sim.url, pool.url)

    def test_upload_to_an_unknown_vdi_is_not_waited_for(self):
        # XAPI answers 500 and leaves the task pending.
        pool = self.pool(call_timeout=30)
        start = time.monotonic()
        exc = self.assertRaises(
            xenapi_session.XenAPIConnectionError, pool.put_vdi,
            'OpaqueRef:no-such-vdi', io.BytesIO(b'x' * 512), 512, 'raw')
        self.assertLess(time.monotonic() - start, 10)
        self.assertIn('500', str(exc))
        self.assertNotIn('session_id', str(exc))
        self.assertEqual([], [t for t in pool.call('task.get_all')])

    def test_uploads_reach_an_ipv6_host_on_its_default_port(self):
        seen = []

        def connect(conn):
            seen.append((conn.host, conn.port))
            raise OSError('not here')

        self.useFixture(fixtures.MockPatchObject(
            http.client.HTTPConnection, 'connect', connect))
        pool = self.pool()
        for url in ('http://[2001:db8::5]/import_raw_vdi?vdi=x',
                    'https://[2001:db8::5]/import_raw_vdi?vdi=x',
                    'http://[2001:db8::5]:8080/import_raw_vdi?vdi=x'):
            self.assertRaises(xenapi_session.XenAPIConnectionError,
                              pool._put, url, io.BytesIO(b'x'), 1)
        self.assertEqual([('2001:db8::5', 80), ('2001:db8::5', 443),
                          ('2001:db8::5', 8080)], seen)

    def test_url_for_a_pool_host_brackets_ipv6(self):
        pool = xenapi_session.SessionPool('https://xs-a1:8443/', 'root', 'pw')
        self.assertEqual('https://[2001:db8::7]:8443/',
                         pool._url_for('2001:db8::7'))
        self.assertEqual('https://192.0.2.7:8443/',
                         pool._url_for('192.0.2.7'))

    def test_unreachable_xapi_says_so(self):
        url = self.sim.url
        self.sim.stop()
        pool = xenapi_session.SessionPool(url, 'root', 'secret',
                                          login_timeout=2)
        exc = self.assertRaises(xenapi_session.XenAPIConnectionError,
                                pool.call, 'pool.get_all')
        self.assertIn(url, str(exc))

    def test_close_logs_out(self):
        before = self.sim.session_count()
        pool = self.pool()
        pool.call('pool.get_all')
        self.assertEqual(before + 1, self.sim.session_count())
        pool.close()
        self.assertEqual(before, self.sim.session_count())


class NoEventletTest(test.NoDBTestCase):

    def test_driver_imports_where_eventlet_is_forbidden(self):
        # nova-compute in native threading mode makes importing eventlet
        # an error; the driver and everything it imports must not try.
        code = (
            'import sys\n'
            'from nova import monkey_patch\n'
            'monkey_patch.patch()\n'
            'import nova.virt.rescue_lm.xenapi\n'
            'from nova_rescue_lm.virt.xenapi import driver\n'
            'print(sorted(m for m in sys.modules\n'
            '             if m.split(".")[0] == "eventlet"))\n')
        env = dict(os.environ, OS_NOVA_DISABLE_EVENTLET_PATCHING='1')
        out = subprocess.run([sys.executable, '-c', code], env=env,
                             capture_output=True, text=True)
        self.assertEqual(0, out.returncode, out.stderr)
        self.assertEqual('[]', out.stdout.strip().splitlines()[-1])
