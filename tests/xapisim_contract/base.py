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

"""What the contract tests share: where XAPI is, sessions, object helpers.

By default each test class starts its own ``Simulator`` (strict about
constructor records, as XAPI is). With ``XAPI_CONTRACT_URL`` (and
``XAPI_CONTRACT_USER``, ``XAPI_CONTRACT_PASSWORD``) the same tests run
against that real pool master instead; ``XAPI_CONTRACT_DEST_URL`` names a
second pool for the cross-pool tests and ``XAPI_CONTRACT_INSECURE=1``
accepts a self-signed certificate. Tests that need the simulator's own
controls (fault injection, disk contents, exact pool shape) skip there,
saying why.
"""

import http.client
import os
import ssl
import time
import urllib.parse
import xmlrpc.client

from os_xenapi.client import XenAPI
import testtools

from tests.xapisim import Simulator

NULL = 'OpaqueRef:NULL'
MiB = 1024 * 1024
GiB = 1024 * MiB
PREFIX = 'xapisim-contract-'

REAL_URL = os.environ.get('XAPI_CONTRACT_URL')
DEST_URL = os.environ.get('XAPI_CONTRACT_DEST_URL')
USER = os.environ.get('XAPI_CONTRACT_USER', 'root')
PASSWORD = os.environ.get('XAPI_CONTRACT_PASSWORD', 'secret')
INSECURE = os.environ.get('XAPI_CONTRACT_INSECURE') == '1'


def _ssl_context():
    if INSECURE:
        return ssl._create_unverified_context()
    return None


def session(url, user=USER, password=PASSWORD):
    """A logged-in os_xenapi session, as the driver makes them."""
    transport = None
    if url.startswith('https') and INSECURE:
        transport = xmlrpc.client.SafeTransport(context=_ssl_context())
    s = XenAPI.Session(url, transport=transport)
    s.login_with_password(user, password, '1.0', 'xapisim-contract')
    return s


def vm_record(name, memory_mb=256, vcpus=1, other_config=None, **extra):
    """Every field XAPI's VM.create requires, as a driver must send it."""
    mem = str(memory_mb * MiB)
    rec = {
        'name_label': name, 'name_description': '', 'user_version': '1',
        'is_a_template': False, 'affinity': NULL,
        'memory_static_max': mem, 'memory_dynamic_max': mem,
        'memory_dynamic_min': mem, 'memory_static_min': mem,
        'VCPUs_params': {}, 'VCPUs_max': str(vcpus),
        'VCPUs_at_startup': str(vcpus),
        'actions_after_shutdown': 'destroy',
        'actions_after_reboot': 'restart',
        'actions_after_crash': 'destroy',
        'PV_bootloader': '', 'PV_kernel': '', 'PV_ramdisk': '',
        'PV_args': '', 'PV_bootloader_args': '', 'PV_legacy_args': '',
        'HVM_boot_policy': 'BIOS order', 'HVM_boot_params': {'order': 'dc'},
        'platform': {'acpi': 'true', 'apic': 'true', 'pae': 'true',
                     'viridian': 'true', 'timeoffset': '0'},
        'PCI_bus': '', 'other_config': dict(other_config or {}),
        'recommendations': '',
    }
    rec.update(extra)
    return rec


class Pool(object):
    """One pool under test: a simulator or a real pool master."""

    def __init__(self, url, sim=None):
        self.url = url
        self.sim = sim

    def session(self):
        return session(self.url)


class ContractTestCase(testtools.TestCase):
    """A fresh simulator per class, or the real XAPI given by the env."""

    SIM_HOSTS = ('xs-a1', 'xs-a2')
    SIM_KWARGS = {}
    NEEDS_DEST = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.real = bool(REAL_URL)
        cls.dest = None
        if cls.real:
            cls.pool = Pool(REAL_URL)
            if cls.NEEDS_DEST and DEST_URL:
                cls.dest = Pool(DEST_URL)
            return
        kwargs = dict(pool_name='pool-a', hosts=cls.SIM_HOSTS,
                      host_memory_mb=16384, host_cpus=8, shared_sr=True,
                      sr_size_gb=200, username=USER, password=PASSWORD,
                      strict_create=True)
        kwargs.update(cls.SIM_KWARGS)
        cls.pool = Pool(None, Simulator(**kwargs).start())
        cls.pool.url = cls.pool.sim.url
        if cls.NEEDS_DEST:
            dest = Simulator(pool_name='pool-b', hosts=('xs-b1',),
                             host_memory_mb=8192, username=USER,
                             password=PASSWORD, strict_create=True).start()
            cls.dest = Pool(dest.url, dest)

    @classmethod
    def tearDownClass(cls):
        for pool in (cls.pool, cls.dest):
            if pool is not None and pool.sim is not None:
                pool.sim.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.sim = self.pool.sim
        self.session = self.pool.session()
        self.x = self.session.xenapi
        self.addCleanup(self._logout, self.session)
        if self.sim is not None:
            self.addCleanup(self.sim.faults.clear)

    @staticmethod
    def _logout(s):
        try:
            s.xenapi.session.logout()
        except Exception:
            pass

    # -- skips --------------------------------------------------------

    def sim_only(self, reason):
        """Skip on a real XAPI: the test needs the simulator's controls."""
        if self.real:
            self.skipTest('simulator only: %s' % reason)

    def need_hosts(self, n):
        hosts = self.x.host.get_all()
        if len(hosts) < n:
            self.skipTest('needs a pool of %d hosts, this one has %d'
                          % (n, len(hosts)))
        return hosts

    def need_dest(self):
        if self.dest is None:
            self.skipTest('cross-pool: set XAPI_CONTRACT_DEST_URL to a '
                          'second pool')
        return self.dest

    # -- assertions ---------------------------------------------------

    def assertFailure(self, code, fn, *args):
        """Call through the client; it must fail with ``code``.

        Returns the whole ErrorDescription ([code, *params]).
        """
        e = self.assertRaises(XenAPI.Failure, fn, *args)
        self.assertEqual(code, e.details[0], e.details)
        return e.details

    def raw(self, method, *params, url=None):
        """One XML-RPC call without the client's session handling."""
        proxy = xmlrpc.client.ServerProxy(url or self.pool.url,
                                          context=_ssl_context())
        return getattr(proxy, method)(*params)

    def assert_runs_on_xs_a1_only(self, vm, code, ref):
        """``VM.start_on`` xs-a2 fails with ``[code, vm, ref]`` (the SR or
        network xs-a2 lacks); ``VM.start`` then places the VM on xs-a1.
        """
        self.assertEqual([code, vm, ref], self.assertFailure(
            code, self.x.VM.start_on, vm, self.sim.host_refs['xs-a2'],
            False, False))
        self.x.VM.start(vm, False, False)
        self.assertEqual(self.sim.host_refs['xs-a1'],
                         self.x.VM.get_resident_on(vm))

    # -- objects ------------------------------------------------------

    @property
    def pool_ref(self):
        return self.x.pool.get_all()[0]

    @property
    def master(self):
        return self.x.pool.get_master(self.pool_ref)

    @property
    def default_sr(self):
        return self.x.pool.get_default_SR(self.pool_ref)

    def network(self, x=None):
        """A network with a PIF on the pool master."""
        x = x or self.x
        master = x.pool.get_master(x.pool.get_all()[0])
        for pif in x.host.get_PIFs(master):
            return x.PIF.get_network(pif)
        self.skipTest('the pool master has no PIF')

    def create_vdi(self, size_mb=16, sr=None, x=None, name='disk',
                   other_config=None, **extra):
        x = x or self.x
        rec = {'name_label': PREFIX + name, 'name_description': '',
               'SR': sr or x.pool.get_default_SR(x.pool.get_all()[0]),
               'virtual_size': str(size_mb * MiB), 'type': 'user',
               'sharable': False, 'read_only': False,
               'other_config': dict(other_config or {}),
               'xenstore_data': {}, 'sm_config': {}, 'tags': []}
        rec.update(extra)
        vdi = x.VDI.create(rec)
        self.addCleanup(self._destroy_vdi, x, vdi)
        return vdi

    @classmethod
    def _destroy_vdi(cls, x, vdi):
        """Cleanups run in reverse: a VM using the VDI may still run."""
        try:
            for vbd in x.VDI.get_VBDs(vdi):
                vm = x.VBD.get_VM(vbd)
                if x.VM.get_power_state(vm) != 'Halted':
                    x.VM.hard_shutdown(vm)
            x.VDI.destroy(vdi)
        except XenAPI.Failure:
            pass

    def create_vm(self, name='vm', x=None, **kw):
        x = x or self.x
        vm = x.VM.create(vm_record(PREFIX + name, **kw))
        self.addCleanup(self._destroy_vm, x, vm)
        return vm

    @staticmethod
    def _destroy_vm(x, vm):
        try:
            if x.VM.get_power_state(vm) != 'Halted':
                x.VM.hard_shutdown(vm)
            x.VM.destroy(vm)
        except XenAPI.Failure:
            pass

    def attach(self, vm, vdi, userdevice='0', mode='RW', vbd_type='Disk',
               bootable=False, x=None):
        x = x or self.x
        return x.VBD.create({
            'VM': vm, 'VDI': vdi, 'userdevice': userdevice,
            'bootable': bootable, 'mode': mode, 'type': vbd_type,
            'empty': vdi == NULL, 'other_config': {},
            'qos_algorithm_type': '', 'qos_algorithm_params': {}})

    def add_vif(self, vm, device='0', network=None, mac='', x=None):
        x = x or self.x
        return x.VIF.create({
            'device': device, 'network': network or self.network(x),
            'VM': vm, 'MAC': mac, 'MTU': '1500', 'other_config': {},
            'qos_algorithm_type': '', 'qos_algorithm_params': {}})

    def wait_task(self, task, x=None):
        """Wait for a task to leave 'pending' (bounded), return its record."""
        x = x or self.x
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rec = x.task.get_record(task)
            if rec['status'] != 'pending':
                return rec
            time.sleep(0.02)
        self.fail('task %s still pending' % task)

    # -- HTTP ---------------------------------------------------------

    def _conn(self, url=None):
        parsed = urllib.parse.urlsplit(url or self.pool.url)
        if parsed.scheme == 'https':
            return http.client.HTTPSConnection(parsed.netloc, timeout=60,
                                               context=_ssl_context())
        return http.client.HTTPConnection(parsed.netloc, timeout=60)

    def put_vdi(self, vdi, data, fmt='raw', session_id=None, task=None,
                url=None, extra=None):
        """PUT /import_raw_vdi the way os-xenapi's importer does (headers
        first, then the body); returns (status, body).
        """
        query = {'session_id': session_id or self.session.handle,
                 'vdi': vdi, 'format': fmt}
        if task:
            query['task_id'] = task
        query.update(extra or {})
        conn = self._conn(url)
        try:
            conn.putrequest('PUT', '/import_raw_vdi?'
                            + urllib.parse.urlencode(query))
            conn.putheader('Content-Type', 'application/octet-stream')
            conn.putheader('Content-Length', str(len(data)))
            conn.endheaders()
            try:
                conn.send(data)
            except OSError:
                pass  # the server may refuse before reading the body
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def get_vdi(self, vdi, url=None, session_id=None):
        """GET /export_raw_vdi?format=raw: the whole virtual disk."""
        query = urllib.parse.urlencode({
            'session_id': session_id or self.session.handle, 'vdi': vdi,
            'format': 'raw'})
        conn = self._conn(url)
        try:
            conn.request('GET', '/export_raw_vdi?' + query)
            resp = conn.getresponse()
            body = resp.read()
            self.assertEqual(200, resp.status, body[:200])
            return body
        finally:
            conn.close()
