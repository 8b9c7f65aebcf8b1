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

"""HTTP PUT /import_raw_vdi (raw and VHD) and GET /export_raw_vdi."""

import os
import struct
import urllib.parse

from tests.xapisim import vhd
from tests.xapisim_contract import base

MiB = base.MiB


class ImportTest(base.ContractTestCase):

    def _task(self):
        task = self.x.task.create('import', 'xapisim contract')
        self.addCleanup(self.x.task.destroy, task)
        return task

    def test_raw_import_writes_the_bytes(self):
        vdi = self.create_vdi(size_mb=1)
        data = os.urandom(64 * 1024)
        task = self._task()
        status, _ = self.put_vdi(vdi, data, task=task)
        self.assertEqual(200, status)
        rec = self.wait_task(task)
        self.assertEqual('success', rec['status'], rec)
        self.assertIn(vdi, rec['result'])
        disk = self.get_vdi(vdi)
        self.assertEqual(MiB, len(disk))
        self.assertEqual(data, disk[:len(data)])
        self.assertEqual(b'\0' * (MiB - len(data)), disk[len(data):])

    def test_vdi_may_be_named_by_uuid(self):
        vdi = self.create_vdi(size_mb=1)
        status, _ = self.put_vdi(self.x.VDI.get_uuid(vdi), b'by-uuid')
        self.assertEqual(200, status)
        self.assertEqual(b'by-uuid', self.get_vdi(vdi)[:7])

    def test_fixed_vhd(self):
        vdi = self.create_vdi(size_mb=2)
        data = os.urandom(MiB)
        image = vhd.make_fixed(data, size=2 * MiB)
        task = self._task()
        status, _ = self.put_vdi(vdi, image, fmt='vhd', task=task)
        self.assertEqual(200, status)
        self.assertEqual('success', self.wait_task(task)['status'])
        disk = self.get_vdi(vdi)
        self.assertEqual(data + b'\0' * MiB, disk)

    def test_dynamic_vhd_keeps_holes(self):
        vdi = self.create_vdi(size_mb=8)
        data = bytearray(6 * MiB)
        data[0:5] = b'first'
        data[5 * MiB:5 * MiB + 4] = b'last'
        image = vhd.make_dynamic(bytes(data), size=8 * MiB)
        self.assertLess(len(image), 6 * MiB)  # the empty blocks are absent
        task = self._task()
        status, _ = self.put_vdi(vdi, image, fmt='vhd', task=task)
        self.assertEqual(200, status)
        self.assertEqual('success', self.wait_task(task)['status'])
        self.assertEqual(bytes(data) + b'\0' * (2 * MiB), self.get_vdi(vdi))

    def test_no_session_is_401(self):
        vdi = self.create_vdi(size_mb=1)
        status, _ = self.put_vdi(vdi, b'x' * 512,
                                 session_id='OpaqueRef:not-a-session')
        self.assertEqual(401, status)
        self.assertEqual(b'\0' * 512, self.get_vdi(vdi)[:512])

    def test_unknown_vdi_is_500_and_the_task_is_left_pending(self):
        # import_raw_vdi.ml: the VDI is looked up (Importexport.vdi_of_req)
        # outside the import's own error handling and in a task of its
        # own.
        task = self._task()
        status, _ = self.put_vdi('OpaqueRef:no-such-vdi', b'x' * 512,
                                 task=task)
        self.assertEqual(500, status)
        self.assertEqual('pending', self.x.task.get_status(task))

    def test_no_vdi_is_400_vdi_missing(self):
        task = self._task()
        status, _ = self.put_vdi('', b'x' * 512, task=task)
        self.assertEqual(400, status)
        rec = self.wait_task(task)
        self.assertEqual(('failure', ['VDI_MISSING']),
                         (rec['status'], rec['error_info']))

    def test_storage_another_host_sees_is_a_302_there(self):
        # import_raw_vdi.ml, Importexport.return_302_redirect: same path
        # and query at a host that sees the SR (XAPI: https://<address>/,
        # the simulator: its own scheme and port), where the master's
        # session is good (Xapi_http checks only that it exists).
        self.sim_only('needs a local SR on a pool member')
        vdi = self.create_vdi(size_mb=1, sr=self.sim.local_sr_ref('xs-a2'))
        task = self._task()
        query = {'session_id': self.session.handle, 'vdi': vdi,
                 'format': 'raw', 'task_id': task}
        conn = self._conn()
        try:
            conn.putrequest('PUT', '/import_raw_vdi?'
                            + urllib.parse.urlencode(query))
            conn.putheader('Content-Length', '7')
            conn.endheaders()
            resp = conn.getresponse()  # before the body is sent
            resp.read()
        finally:
            conn.close()
        self.assertEqual(302, resp.status)
        location = urllib.parse.urlsplit(resp.getheader('Location'))
        member = urllib.parse.urlsplit(self.sim.member_url('xs-a2'))
        self.assertEqual(member.netloc, location.netloc)
        self.assertEqual(('/import_raw_vdi', query), (
            location.path, dict(urllib.parse.parse_qsl(location.query))))
        self.assertEqual('pending', self.x.task.get_status(task))
        status, _ = self.put_vdi(vdi, b'member!', task=task,
                                 url=self.sim.member_url('xs-a2'))
        self.assertEqual(200, status)
        self.assertEqual('success', self.wait_task(task)['status'])
        self.assertEqual(b'member!', self.get_vdi(vdi)[:7])

    def test_a_member_that_sees_the_sr_imports(self):
        self.sim_only('needs a pool member\'s URL')
        vdi = self.create_vdi(size_mb=1)  # shared: every host sees it
        status, _ = self.put_vdi(vdi, b'at-member',
                                 url=self.sim.member_url('xs-a2'))
        self.assertEqual(200, status)
        self.assertEqual(b'at-member', self.get_vdi(vdi)[:9])

    def test_unknown_format_is_404(self):
        vdi = self.create_vdi(size_mb=1)
        status, _ = self.put_vdi(vdi, b'x' * 512, fmt='vmdk')
        self.assertEqual(404, status)

    def test_too_large_fails_the_task_and_writes_nothing(self):
        self.sim_only('XAPI fails a too-large raw import part way, after '
                      'writing what fits; the simulator writes nothing')
        vdi = self.create_vdi(size_mb=1)
        task = self._task()
        status, _ = self.put_vdi(vdi, b'y' * (MiB + 512), task=task)
        # As in XAPI the 200 goes out before the data is read: only the
        # task says it failed.
        self.assertEqual(200, status)
        rec = self.wait_task(task)
        self.assertEqual('failure', rec['status'])
        self.assertEqual(['VDI_TOO_SMALL', vdi, str(MiB + 512)],
                         rec['error_info'])
        self.assertEqual(b'\0' * MiB, self.get_vdi(vdi))

    def test_vhd_larger_than_the_vdi(self):
        vdi = self.create_vdi(size_mb=1)
        task = self._task()
        image = vhd.make_dynamic(b'z' * 512, size=4 * MiB)
        status, _ = self.put_vdi(vdi, image, fmt='vhd', task=task)
        self.assertEqual(200, status)
        self.assertEqual('failure', self.wait_task(task)['status'])

    def test_corrupt_vhd_fails_the_task(self):
        vdi = self.create_vdi(size_mb=1)
        image = bytearray(vhd.make_fixed(b'a' * 512, size=MiB))
        image[-100] ^= 0xff  # breaks the footer checksum
        task = self._task()
        status, _ = self.put_vdi(vdi, bytes(image), fmt='vhd', task=task)
        self.assertEqual(200, status)
        rec = self.wait_task(task)
        self.assertEqual('failure', rec['status'])
        self.assertEqual(b'\0' * 512, self.get_vdi(vdi)[:512])

    def test_fault_on_import(self):
        self.sim_only('fault injection')
        vdi = self.create_vdi(size_mb=1)
        self.sim.faults.inject('import_raw_vdi', code='SR_BACKEND_FAILURE',
                               params=['io'])
        task = self._task()
        status, body = self.put_vdi(vdi, b'x' * 512, task=task)
        self.assertEqual(500, status)
        self.assertEqual(['SR_BACKEND_FAILURE', 'io'],
                         self.wait_task(task)['error_info'])
        status, _ = self.put_vdi(vdi, b'x' * 512)
        self.assertEqual(200, status)


class VHDParserTest(base.testtools.TestCase):
    """The simulator's VHD reader on its own (no XAPI involved)."""

    def test_fixed_round_trip(self):
        data = os.urandom(4096)
        size, chunks = vhd.parse(vhd.make_fixed(data))
        self.assertEqual(4096, size)
        self.assertEqual([(0, data)], chunks)

    def test_dynamic_round_trip_and_sparseness(self):
        block = 2 * MiB
        data = bytearray(3 * block)
        data[block + 512:block + 1024] = b'q' * 512
        size, chunks = vhd.parse(vhd.make_dynamic(bytes(data)))
        self.assertEqual(3 * block, size)
        out = bytearray(size)
        for offset, piece in chunks:
            out[offset:offset + len(piece)] = piece
        self.assertEqual(data, out)
        self.assertEqual({block}, {offset for offset, _ in chunks})

    def test_sector_bitmap_is_honoured(self):
        image = bytearray(vhd.make_dynamic(b'k' * (2 * MiB)))
        # Clear the bitmap bit of the first sector of the only block.
        (sector,) = struct.unpack('>I', image[1536:1540])
        image[sector * 512] &= 0x7f
        size, chunks = vhd.parse(bytes(image))
        self.assertEqual([(512, b'k' * (2 * MiB - 512))], chunks)

    def test_rejects_garbage_differencing_and_bad_checksums(self):
        self.assertRaises(vhd.VHDError, vhd.parse, b'\0' * 1024)
        self.assertRaises(vhd.VHDError, vhd.parse, b'short')
        image = bytearray(vhd.make_dynamic(b'a' * 512, size=MiB))
        for offset in (60, len(image) - 452):  # disk type in both footers
            struct.pack_into('>I', image, offset, vhd.DIFFERENCING)
        for start in (0, len(image) - 512):
            footer = image[start:start + 512]
            struct.pack_into('>I', image, start + 64,
                             vhd._checksum(footer, 64))
        self.assertRaisesRegex(vhd.VHDError, 'differencing', vhd.parse,
                               bytes(image))
        fixed = bytearray(vhd.make_fixed(b'a' * 512))
        fixed[-1] ^= 1
        fixed[-500] ^= 1
        self.assertRaisesRegex(vhd.VHDError, 'checksum', vhd.parse,
                               bytes(fixed))

    def test_truncated_dynamic(self):
        image = vhd.make_dynamic(b'a' * MiB, size=2 * MiB)
        footer = image[-512:]
        self.assertRaises(vhd.VHDError, vhd.parse,
                          image[:len(image) - 4096] + footer)
