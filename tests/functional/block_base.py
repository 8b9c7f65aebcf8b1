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

"""Block live migration with real disk files on truly separate hosts.

On top of :class:`tests.functional.base.RescueLiveMigrationTestBase`:

* every compute has its own instances directory (``<tmp>/<host>``, with its
  own ``_base`` image cache): ``CONF.instances_path`` is answered per host in
  nova's libvirt modules, the host being the compute whose driver or manager
  is running the code. Nothing is shared, as between two real hosts, so
  nova's shared-storage test file says "not shared" and the migration is a
  block migration;
* nova's real image backend (qcow2 or flat) makes real files with
  ``qemu-img``; only the image download is faked, by a function that writes
  a small raw image whose first bytes name the image id, so a test can tell
  which image sits in ``_base/<sha1(id)>``;
* nova's shared-storage test file is looked for under the name it has on
  the asking host;
* copies "from another host" (nova's remotefs fallback) copy from that host's
  directory; the package's one-stream pull runs its real tar pipeline, with
  an ``ssh`` that runs the remote command here (the hosts' files are apart
  by name, on one file system);
* the hypervisor's half of the migration copies exactly the disks nova listed
  in ``migrate_disks`` (target device -> source file in the domain XML), as
  QEMU's NBD mirror does with ``VIR_MIGRATE_NON_SHARED_INC``: the top layer
  only, onto the destination's own backing file. It fails like libvirt when
  a listed disk is read-only (cdrom) or the destination has not prepared it.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import traceback
from urllib import parse

import fixtures
from lxml import etree
from nova.compute import manager as compute_manager
from nova import conf as nova_conf
from nova import objects
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import imagebackend
from oslo_log import log as logging
from oslo_serialization import jsonutils

from nova_rescue_lm.virt.libvirt import sparse_transfer
from tests.functional import base

CONF = nova_conf.CONF
LOG = logging.getLogger(__name__)

# Captured before nova's harness replaces them with mocks.
REAL_CREATE_IMAGE = libvirt_driver.LibvirtDriver._create_image
REAL_BACKEND = imagebackend.Backend.backend
REAL_PULL = sparse_transfer.pull

#: nova's libvirt modules whose ``CONF.instances_path`` is answered per host.
PER_HOST_CONF_MODULES = (
    'nova.virt.libvirt.utils',
    'nova.virt.libvirt.imagebackend',
    'nova.virt.libvirt.imagecache',
    'nova.virt.libvirt.driver',
    'nova_rescue_lm.virt.libvirt.rescue_disks',
)

#: ``ssh -o BatchMode=yes HOST COMMAND``: COMMAND runs here; refused like a
#: host without sshd when RESCUE_LM_TEST_SSH_REFUSED is set.
FAKE_SSH = '''#!/bin/sh
shift 2
if [ -n "$RESCUE_LM_TEST_SSH_REFUSED" ]; then
  echo "ssh: connect to host $1 port 22: Connection refused" >&2
  exit 255
fi
shift
exec sh -c "$*"
'''

IMAGE_SIZE = 16 * 1024 * 1024
SECTOR = 512

RESCUE_IMAGE = '3f4a1c2e-0b5d-4e6f-8a9b-1c2d3e4f5a6b'
STABLE_RESCUE_IMAGE = '7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d0e'
CDROM_RESCUE_IMAGE = '0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f'
KERNEL = 'a1b2c3d4-0000-4000-8000-00000000000a'
RAMDISK = 'a1b2c3d4-0000-4000-8000-00000000000b'

MiB = 1024 * 1024
#: what a rescue guest writes: offset, pattern, length
ROOT_WRITE = (3 * MiB, 0x5a, 64 * 1024)
EPHEMERAL_WRITE = (5 * MiB, 0xe1, 64 * 1024)
RESCUE_WRITE = (7 * MiB, 0x3c, 4096)


def run(*cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError('%s: %s' % (' '.join(cmd), done.stderr.strip()))
    return done.stdout


def qemu_img_info(path):
    return jsonutils.loads(run('qemu-img', 'info', '--output=json', path))


def image_marker(image_id):
    return ('IMAGE %s\n' % image_id).encode()


def write_image(target, image_id):
    """A small raw image whose first bytes name ``image_id``."""
    with open(target, 'wb') as f:
        f.write(image_marker(image_id))
        f.truncate(IMAGE_SIZE)


def guest_read(path, offset, length):
    """Bytes the guest sees at ``offset`` (through any backing chain)."""
    fmt = qemu_img_info(path)['format']
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'out')
        skip = offset // SECTOR
        # qemu-img dd counts ``count`` from the start of the input
        run('qemu-img', 'dd', '-f', fmt, '-O', 'raw', 'bs=%d' % SECTOR,
            'skip=%d' % skip, 'count=%d' % (skip + -(-length // SECTOR)),
            'if=' + path, 'of=' + out)
        with open(out, 'rb') as f:
            return f.read()[:length]


def guest_write(path, offset, pattern, length):
    """What a guest writing ``length`` bytes of ``pattern`` does."""
    fmt = qemu_img_info(path)['format']
    run('qemu-io', '-f', fmt, '-c',
        'write -P 0x%02x %d %d' % (pattern, offset, length), path)


def sha1(image_id):
    return hashlib.sha1(image_id.encode()).hexdigest()


class _PerHostConf(object):
    """nova's CONF, with ``instances_path`` answered for the current host."""

    def __init__(self, test):
        self._test = test

    def __getattr__(self, name):
        if name == 'instances_path':
            host = self._test.current_host()
            if host is None:
                # Not a compute's code: nothing per host may be touched.
                self._test.unattributed.append(
                    ''.join(traceback.format_stack(limit=8)))
            return self._test.instances_root(host)
        return getattr(CONF, name)


class BlockMigrationTestBase(base.RescueLiveMigrationTestBase):
    #: 'qcow2' or 'flat'
    images_type = 'qcow2'

    def setUp(self):
        super().setUp()
        self.root = CONF.instances_path
        self.flags(images_type=self.images_type, group='libvirt')
        self._driver_hosts = {}
        #: errors the fake hypervisor raised, by test expectation empty
        self.hypervisor_errors = []
        #: (host, src, dest) of every copy from another host
        self.remote_copies = []
        #: (host, paths) of every one-stream pull
        self.pulls = []
        self.fetched = []
        #: stacks that asked for instances_path outside any compute
        self.unattributed = []
        self.addCleanup(self._check_attributed)

        for module in PER_HOST_CONF_MODULES:
            self.useFixture(fixtures.MonkeyPatch(
                module + '.CONF', _PerHostConf(self)))
        # nova's real image backend and image creation, real files.
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.imagebackend.Backend.backend', REAL_BACKEND))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.LibvirtDriver._create_image',
            REAL_CREATE_IMAGE))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.utils.fetch_image', self._fetch_image))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.utils.fetch_raw_image', self._fetch_image))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.driver.LibvirtDriver._create_ephemeral',
            self._create_blank))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.driver.LibvirtDriver._create_swap',
            self._create_blank))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.utils.copy_image', self._copy_image))
        # nova's shared-storage test: another host sees a file under its
        # own name only if their directories are one
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.driver.LibvirtDriver.'
            'check_instance_shared_storage_remote',
            lambda driver, context, data: os.path.exists(self.on_host(
                data['filename'], self.current_host()))))
        bindir = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(bindir, 'ssh'), 'w') as f:
            f.write(FAKE_SSH)
        os.chmod(os.path.join(bindir, 'ssh'), 0o755)
        self.useFixture(fixtures.EnvironmentVariable(
            'PATH', bindir + os.pathsep + os.environ['PATH']))
        self.useFixture(fixtures.MockPatch(
            'nova_rescue_lm.virt.libvirt.sparse_transfer.pull',
            side_effect=self._pull))
        # privsep (root helpers) is not available in nova's harness
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.imagebackend._update_utime_ignore_eacces'))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.configdrive.ConfigDriveBuilder.make_drive',
            _make_drive))
        # (LibvirtMigrationMixin routes Domain.migrateToURI3 to
        # self._migrate_stub below.)

    def _check_attributed(self):
        self.assertEqual([], self.unattributed,
                         'instances_path asked outside a compute')

    # hosts and their directories

    def start_compute(self, hostname='compute1', *args, **kwargs):
        os.makedirs(self.instances_root(hostname), exist_ok=True)
        self._starting = hostname
        try:
            compute = super().start_compute(hostname, *args, **kwargs)
        finally:
            self._starting = None
        self._driver_hosts[id(self.computes[hostname].driver)] = hostname
        return compute

    def instances_root(self, host):
        return os.path.join(self.root, host or 'unknown-host')

    def current_host(self):
        """The compute whose driver or manager runs the calling code."""
        frame = sys._getframe(2)
        while frame is not None:
            obj = frame.f_locals.get('self')
            if obj is not None:
                host = self._driver_hosts.get(id(obj))
                if host:
                    return host
                if isinstance(obj, compute_manager.ComputeManager):
                    return obj.host
            frame = frame.f_back
        return getattr(self, '_starting', None)

    def host_of_path(self, path):
        # every host ever started: a host being restarted is not in
        # self.computes
        for host in set(self._driver_hosts.values()):
            if path.startswith(self.instances_root(host) + os.sep):
                return host
        return None

    def on_host(self, path, host):
        """``path`` as it is named on ``host``: same name, other machine."""
        owner = self.host_of_path(path)
        if owner is None or owner == host:
            return path
        return os.path.join(self.instances_root(host),
                            os.path.relpath(path, self.instances_root(owner)))

    def instance_dir(self, host, server):
        return os.path.join(self.instances_root(host), server['id'])

    def cache_file(self, host, image_id):
        return os.path.join(self.instances_root(host), '_base',
                            sha1(image_id))

    # image service and image creation

    def _fetch_image(self, context, target, image_id, trusted_certs=None):
        self.fetched.append((self.current_host(), image_id, target))
        # Only existing images can be downloaded, as from glance.
        self.glance.show(context, image_id)
        write_image(target, image_id)

    @staticmethod
    def _create_blank(*args, target, **kwargs):
        """nova's ephemeral/swap generators without mkfs/mkswap."""
        size = int((kwargs.get('ephemeral_size') or 0) * 1024 ** 3 or
                   (kwargs.get('swap_mb') or 0) * 1024 ** 2)
        with open(target, 'wb') as f:
            # as mkfs/mkswap do, other bytes every time (UUID)
            f.write(b'GENERATED %s\n' % os.urandom(8).hex().encode())
            f.truncate(size or IMAGE_SIZE)

    def _copy_image(self, src, dest, host=None, receive=False,
                    on_execute=None, on_completion=None, compression=True):
        """nova's copy_image; with a host, that host's file."""
        if host:
            local = self.current_host()
            self.remote_copies.append((host, src, dest))
            if receive:
                src, dest = self.on_host(src, host), self.on_host(dest, local)
            else:
                src, dest = self.on_host(src, local), self.on_host(dest, host)
        if os.path.isdir(dest):
            dest = os.path.join(dest, os.path.basename(src))
        run('cp', '--sparse=always', src, dest)
        self._rebase_onto_own_host(dest)

    def _pull(self, host, paths, into):
        """The package's one-stream pull, real tar over the fake ssh."""
        self.pulls.append((host, list(paths)))
        REAL_PULL(host, paths, into)
        for path in paths:
            staged = sparse_transfer.staged(into, path)
            self.remote_copies.append((host, path, staged))
            self._rebase_onto_own_host(staged)

    def _rebase_onto_own_host(self, path):
        """A copied qcow2 names its backing file by absolute path, which is
        the same on every real host; point it at this host's file.
        """
        info = qemu_img_info(path)
        backing = info.get('backing-filename')
        if info['format'] != 'qcow2' or not backing:
            return
        own = self.on_host(backing, self.host_of_path(path))
        if own != backing:
            run('qemu-img', 'rebase', '-u', '-F',
                info.get('backing-filename-format', 'raw'), '-b', own, path)

    # the hypervisor

    def _migrate_stub(self, domain, destination, params, flags):
        dest_host = parse.urlparse(destination).hostname
        src_xml = etree.fromstring(domain.XMLDesc(0))
        disks = {}
        for disk in src_xml.findall('./devices/disk'):
            source = disk.find('source')
            disks[disk.find('target').get('dev')] = (
                disk.get('device'), disk.find('readonly') is not None,
                source.get('file') if source is not None else None)
        try:
            for dev in params.get('migrate_disks', []):
                device, readonly, path = disks[dev]
                if device == 'cdrom' or readonly or not path:
                    raise fakelibvirt.make_libvirtError(
                        fakelibvirt.libvirtError,
                        'Operation not supported: Cannot migrate empty or '
                        'read-only disk %s' % dev,
                        error_code=fakelibvirt.VIR_ERR_OPERATION_UNSUPPORTED)
                self._mirror(path, self.on_host(path, dest_host))
        except Exception as e:
            LOG.error('fake hypervisor: migration failed: %s', e)
            self.hypervisor_errors.append(str(e))
            self.migrations.append({'destination': dest_host,
                                    'migrate_disks': list(
                                        params.get('migrate_disks', [])),
                                    'error': str(e)})
            domain.fail_job()
            return
        xml = params['destination_xml']
        for path in [p for (_d, _r, p) in disks.values() if p]:
            xml = xml.replace(path, self.on_host(path, dest_host))
        params = dict(params, destination_xml=xml)
        super()._migrate_stub(domain, destination, params, flags)

    def _mirror(self, src, dest):
        """QEMU's drive-mirror with sync=top onto the prepared disk."""
        if not os.path.exists(dest):
            raise RuntimeError('destination disk %s was not created' % dest)
        src_info, dest_info = qemu_img_info(src), qemu_img_info(dest)
        if src_info['format'] != dest_info['format']:
            raise RuntimeError('format mismatch %s: %s != %s' % (
                dest, src_info['format'], dest_info['format']))
        src_backing = src_info.get('backing-filename')
        dest_backing = dest_info.get('backing-filename')
        if bool(src_backing) != bool(dest_backing):
            raise RuntimeError('backing chain mismatch for %s' % dest)
        if dest_backing and not os.path.exists(dest_backing):
            raise RuntimeError('destination base %s missing' % dest_backing)
        run('cp', '--sparse=always', src, dest)
        if dest_backing:
            run('qemu-img', 'rebase', '-u', '-F',
                dest_info.get('backing-filename-format', 'raw'),
                '-b', dest_backing, dest)

    # API helpers

    def _create_rescue_image(self, image_id, **properties):
        return self._register_image(image_id, IMAGE_SIZE, **properties)

    def _create_full_server(self, host='src', config_drive=True):
        flavor_id = self._create_flavor(memory_mb=512, vcpu=1, disk=1,
                                        ephemeral=1, swap=128)
        server = self._build_server(flavor_id=flavor_id, networks='none',
                                    host=host)
        server['config_drive'] = config_drive
        server = self.api.post_server({'server': server})
        return self._wait_for_state_change(server, 'ACTIVE')

    def _rescue_with(self, server, image_id=None):
        body = {'adminPass': 'MySecretPass'}
        if image_id:
            body['rescue_image_ref'] = image_id
        self.api.post_server_action(server['id'], {'rescue': body})
        return self._wait_for_state_change(server, 'RESCUE')

    def _instance(self, server):
        return objects.Instance.get_by_uuid(
            self.ctxt, server['id'], expected_attrs=['system_metadata'])

    # what the guest sees

    def _assert_written(self, path, write):
        offset, pattern, length = write
        self.assertEqual(bytes([pattern]) * length,
                         guest_read(path, offset, length), path)

    def _assert_image(self, path, image_id):
        self.assertEqual(image_marker(image_id),
                         guest_read(path, 0, len(image_marker(image_id))),
                         path)


def base_image_id():
    return '155d900f-4e14-4e4c-a73d-069cbf4541e6'


def _make_drive(builder, path):
    """A config drive holding the metadata files (admin password included),
    unique per build; genisoimage is not needed.
    """
    files = {name: (data.decode(errors='replace')
                    if isinstance(data, bytes) else data)
             for name, data in builder.mdfiles}
    with open(path, 'wb') as f:
        f.write(('CONFIGDRIVE %s %s\n' % (
            os.urandom(8).hex(),
            jsonutils.dumps(files, sort_keys=True))).encode())
        f.truncate(max(f.tell(), 1024 * 1024))
