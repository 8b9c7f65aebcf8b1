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

"""One sparse stream from another host, and digests that skip holes."""

import os

import fixtures
from nova import test
from oslo_concurrency import processutils

from nova_rescue_lm.virt.libvirt import sparse_transfer

#: ``ssh -o BatchMode=yes HOST COMMAND``: logs HOST, runs COMMAND here.
FAKE_SSH = '''#!/bin/sh
shift 2
echo "$1" >> "$SSH_LOG"
if [ -n "$SSH_REFUSED" ]; then
  echo "ssh: connect to host $1 port 22: Connection refused" >&2
  exit 255
fi
shift
exec sh -c "$*"
'''


def sparse_file(path, size, chunks):
    """A file of ``size`` bytes: ``{offset: bytes}`` written, holes
    elsewhere.
    """
    with open(path, 'wb') as f:
        f.truncate(size)
        for offset, data in chunks.items():
            f.seek(offset)
            f.write(data)


def read(path):
    with open(path, 'rb') as f:
        return f.read()


class FakeSsh(fixtures.Fixture):
    """An ``ssh`` first in PATH that runs the remote command here."""

    def _setUp(self):
        self.tmp = self.useFixture(fixtures.TempDir()).path
        bindir = os.path.join(self.tmp, 'bin')
        os.mkdir(bindir)
        with open(os.path.join(bindir, 'ssh'), 'w') as f:
            f.write(FAKE_SSH)
        os.chmod(os.path.join(bindir, 'ssh'), 0o755)
        self.log = os.path.join(self.tmp, 'ssh.log')
        self.useFixture(fixtures.EnvironmentVariable(
            'PATH', bindir + os.pathsep + os.environ['PATH']))
        self.useFixture(fixtures.EnvironmentVariable('SSH_LOG', self.log))

    def calls(self):
        """The hosts ssh was asked to reach, in order."""
        if not os.path.exists(self.log):
            return []
        return read(self.log).decode().split()


class DigestTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def _digest(self, name, size, chunks):
        path = os.path.join(self.tmp, name)
        sparse_file(path, size, chunks)
        return sparse_transfer.content_digest(path)

    def test_holes_and_written_zeros_read_the_same(self):
        size = 8 * 2 ** 20
        holes = self._digest('holes', size, {2 ** 20: b'data'})
        zeros = self._digest('zeros', size, {
            0: bytes(2 ** 20), 2 ** 20: b'data' + bytes(2 ** 20)})
        self.assertEqual(holes, zeros)

    def test_one_byte_length_or_place_tells_them_apart(self):
        size = 8 * 2 ** 20
        first = self._digest('a', size, {2 ** 20: b'data'})
        self.assertNotEqual(first, self._digest('b', size,
                                                {2 ** 20: b'dat4'}))
        self.assertNotEqual(first, self._digest('c', size + 1,
                                                {2 ** 20: b'data'}))
        self.assertNotEqual(first, self._digest('d', size,
                                                {2 ** 21: b'data'}))
        self.assertNotEqual(self._digest('e', size, {}),
                            self._digest('f', size, {size - 1: b'\1'}))

    def test_empty_and_unaligned(self):
        self.assertEqual(self._digest('a', 0, {}), self._digest('b', 0, {}))
        self.assertNotEqual(self._digest('c', 100, {99: b'x'}),
                            self._digest('d', 100, {98: b'x'}))


class PullTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.ssh = self.useFixture(FakeSsh())
        self.tmp = self.ssh.tmp

    def test_one_connection_sparse_files_same_bytes(self):
        src = os.path.join(self.tmp, 'src dir')  # a space: quoted
        os.makedirs(os.path.join(src, '_base'))
        base = os.path.join(src, '_base', 'ephemeral_1_0706d66')
        top = os.path.join(src, 'disk.local')
        sparse_file(base, 2 ** 30, {0: b'superblock', 2 ** 29: b'inodes'})
        sparse_file(top, 3 * 2 ** 20, {4096: b'top'})
        into = os.path.join(self.tmp, 'into')
        os.mkdir(into)

        sparse_transfer.pull('src-host', [base, top], into)

        self.assertEqual(['src-host'], self.ssh.calls())
        for path in (base, top):
            staged = sparse_transfer.staged(into, path)
            self.assertEqual(read(path), read(staged))
        # the 1 GiB base arrives as sparse as it left
        staged_base = sparse_transfer.staged(into, base)
        self.assertLess(os.stat(staged_base).st_blocks * 512, 2 ** 20)

    def test_a_refused_connection_says_why(self):
        self.useFixture(fixtures.EnvironmentVariable('SSH_REFUSED', '1'))
        into = os.path.join(self.tmp, 'into')
        os.mkdir(into)
        e = self.assertRaises(processutils.ProcessExecutionError,
                              sparse_transfer.pull, 'src-host',
                              ['/nonexistent'], into)
        self.assertIn('ssh: connect to host src-host port 22: Connection '
                      'refused', e.stderr)

    def test_a_missing_file_fails(self):
        into = os.path.join(self.tmp, 'into')
        os.mkdir(into)
        e = self.assertRaises(processutils.ProcessExecutionError,
                              sparse_transfer.pull, 'src-host',
                              [os.path.join(self.tmp, 'gone')], into)
        self.assertIn('gone', e.stderr)
