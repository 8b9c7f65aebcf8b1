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

"""Files pulled from another host in one sparse stream, and how to tell
that two sparse files hold the same bytes without reading their holes.

nova's remote copies (``[libvirt] remote_filesystem_transport``, scp or
rsync) open one ssh connection per file and read and send every byte of a
sparse file: an ephemeral disk's base made by mkfs is 1 GiB (or 10) long
and holds a few MiB. A rescued server's block migration pulls several such
files, so they go in one GNU tar stream over one ssh connection, which
reads only the allocated extents (``--sparse``; tar finds them with
SEEK_DATA/SEEK_HOLE) and writes holes back on this side. Both nova
transports already need the destination to reach the source over ssh as
nova-compute's user; that is all this needs, with ``tar`` on both hosts.
"""

import hashlib
import os
import shlex

from oslo_concurrency import processutils

#: Blocks of this size that hold only zeros do not count in a digest, so a
#: hole and written zeros give the same digest.
BLOCK = 64 * 1024


def content_digest(path):
    """A digest of a file's bytes that costs what the file holds.

    Reads only the extents the file system reports as data and hashes each
    non-zero block with its offset, and the file's length: two files have
    the same digest exactly when they read the same, whatever their holes.
    """
    digest = hashlib.blake2b(digest_size=32)
    zeros = bytes(BLOCK)
    with open(path, 'rb', buffering=0) as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        digest.update(b'%d;' % size)
        pos = 0
        while pos < size:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                break  # ENXIO: only a hole is left
            end = os.lseek(fd, start, os.SEEK_HOLE)
            pos = os.lseek(fd, start - start % BLOCK, os.SEEK_SET)
            while pos < end:
                block = f.read(BLOCK)
                if not block:
                    break
                if block != zeros[:len(block)]:
                    digest.update(b'%d;' % pos)
                    digest.update(block)
                pos += len(block)
    return digest.hexdigest()


def pull(host, paths, into):
    """Copy ``paths`` (absolute, on ``host``) under directory ``into``.

    Each file lands at ``into`` + its absolute path, sparse, owned by this
    process's user. One ssh connection; ``ProcessExecutionError`` if ssh or
    either tar fails (pipefail), with the failing side's stderr.
    """
    members = [path.lstrip(os.sep) for path in paths]
    remote = ' '.join(shlex.quote(arg) for arg in
                      ['tar', '--create', '--sparse', '--file', '-',
                       '--directory', os.sep, '--'] + members)
    processutils.execute(
        'bash', '-o', 'pipefail', '-c',
        'ssh -o BatchMode=yes "$1" "$2" | '
        'tar --extract --sparse --no-same-owner --file - --directory "$3"',
        'rescue-lm-pull', host, remote, into)


def staged(into, path):
    """Where :func:`pull` put ``path``."""
    return os.path.join(into, path.lstrip(os.sep))
