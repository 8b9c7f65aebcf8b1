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

"""Block migration of a rescue domain: what the source sends, what the
destination places.

nova's block migration moves what the *running* domain shows, and a rescue
domain does not show everything the server owns:

* a legacy rescue domain has neither the ephemeral and swap disks nor the
  server's own config drive, and its real root (``disk``) sits on the second
  target, which nova takes for a volume when a volume BDM names that target;
* read-only devices (the config drive, a cdrom rescue disk) are never
  mirrored by libvirt ("Cannot migrate empty or read-only disk");
* the destination fills a missing backing file by downloading the server's
  image under whatever cache name the source reported, so the rescue disk's
  base would become the server image stored under the rescue image's name.

The source therefore reports, in the per-disk ``disk`` JSON that nova hands
to the destination's ``pre_live_migration``, every disk file of the server
(domain disks with the root reported even in a legacy domain, plus the disks
only the normal domain uses) and marks with :data:`COPY` the ones libvirt will
not mirror. Before nova creates the disks, the destination fills a backing
file named after the rescue image with the rescue image (recorded in
``instance.system_metadata``), or copies it from the source host when it
cannot prove which image it is (it never downloads another image under that
name), and copies missing ephemeral/swap bases from the source; after nova,
it copies the marked files from the source over the blank ones nova made.
Nothing is carried in ``migrate_data``.
"""

import contextlib
import errno
import glob
import itertools
import os
import shutil

from lxml import etree
from nova.compute import task_states
from nova.compute import vm_states
import nova.conf
from nova import exception
from nova import thread_pool_factory
from nova import utils as nova_utils
from nova.virt import images
from nova.virt.libvirt import config as vconfig
from nova.virt.libvirt import imagecache
from nova.virt.libvirt import utils as libvirt_utils
from oslo_concurrency import processutils
from oslo_log import log as logging
from oslo_utils import fileutils

from nova_rescue_lm.i18n import _
from nova_rescue_lm.virt.libvirt import qcow2_header
from nova_rescue_lm.virt.libvirt import rescue_record as libvirt_rescue
from nova_rescue_lm.virt.libvirt import sparse_transfer
from nova_rescue_lm.virt import rescue_record

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

#: Key added to a ``disk`` JSON entry: the destination copies the file from
#: the source host because libvirt will not mirror it.
COPY = 'rescue_lm_copy'
#: Key added to a ``disk`` JSON entry over an ephemeral or swap base:
#: ``{'path': the base on the source, 'digest': its content digest}``.
BASE = 'rescue_lm_base'

RESCUE_SUFFIX = '.rescue'
RESCUE_DISK = 'disk.rescue'
#: Instance-directory files that are not guest disks.
NOT_DISKS = ('disk.info',)


def is_rescued(instance):
    return instance.vm_state == vm_states.RESCUED


def is_migrating_rescued(instance):
    return (is_rescued(instance) and
            instance.task_state == task_states.MIGRATING)


# --- the running rescue domain ---------------------------------------------

def _disks(guest_config):
    return [dev for dev in guest_config.devices
            if isinstance(dev, vconfig.LibvirtConfigGuestDisk)]


def _name(path):
    return os.path.basename(path or '')


def is_legacy_domain(guest_config):
    """A legacy rescue domain boots ``disk.rescue`` as its first disk.

    In stable-device mode nova appends ``disk.rescue`` after the server's own
    devices (``_get_guest_storage_config``), so the first disk tells the two
    apart on any host, with or without our record.
    """
    disks = _disks(guest_config)
    return bool(disks) and (
        _name(disks[0].source_path) == RESCUE_DISK or
        (disks[0].source_name or '').endswith('_' + RESCUE_DISK))


def read_only_disks(domain_xml):
    """``{target dev: source file or None}`` of the domain's read-only disks.

    libvirt never mirrors a read-only disk ("Cannot migrate empty or
    read-only disk") and forces every cdrom read-only, so both count.
    nova's parsed config does not keep the ``device`` attribute, so the XML
    is read here.
    """
    found = {}
    for disk in etree.fromstring(domain_xml).findall('./devices/disk'):
        if (disk.get('device') != 'cdrom' and
                disk.find('readonly') is None):
            continue
        target = disk.find('target')
        source = disk.find('source')
        if target is not None:
            found[target.get('dev')] = (
                source.get('file') or source.get('dev')
                if source is not None else None)
    return found


# --- source: what the destination must receive -----------------------------

def volume_free_bdi(block_device_info):
    """Block device info without volumes, for a legacy rescue domain.

    That domain has no volume (nova rescues with ``block_device_info =
    None``), so a volume BDM naming ``/dev/vdb`` would only hide the root
    disk, which sits on vdb there. The dict stays truthy on purpose.
    """
    return dict(block_device_info or {}, block_device_mapping=[])


def missing_disk_files(instance, guest_config):
    """Server disks in the instance directory the domain does not use.

    In a legacy rescue these are ``disk.local``, ``disk.eph*``,
    ``disk.swap`` and the server's own ``disk.config``: the normal domain
    needs them after unrescue. ``*.rescue`` files not in the domain are
    leftovers of the rescue and are not sent.
    """
    in_domain = {dev.source_path for dev in _disks(guest_config)
                 if dev.source_path}
    instance_dir = libvirt_utils.get_instance_path(instance)
    found = []
    for path in sorted(glob.glob(os.path.join(instance_dir, 'disk*'))):
        name = os.path.basename(path)
        if (path in in_domain or name in NOT_DISKS or
                name.endswith(RESCUE_SUFFIX) or not os.path.isfile(path)):
            continue
        found.append(path)
    return found


def synthetic_config(paths_and_formats):
    """A guest config holding only file disks, for nova's size/backing
    reader ``_get_instance_disk_info_from_config``.
    """
    config = vconfig.LibvirtConfigGuest()
    for index, (path, driver_format) in enumerate(paths_and_formats):
        dev = vconfig.LibvirtConfigGuestDisk()
        dev.source_type = 'file'
        dev.source_path = path
        dev.driver_format = driver_format
        dev.target_dev = 'rescue-lm-%d' % index
        config.add_device(dev)
    return config


def mark_read_only(disk_info, domain_xml):
    """Mark the entries of read-only domain disks (libvirt cannot copy)."""
    read_only = set(read_only_disks(domain_xml).values())
    for info in disk_info:
        if info['path'] in read_only:
            info[COPY] = True
    return disk_info


def mark_copy(disk_info):
    for info in disk_info:
        info[COPY] = True
    return disk_info


def disks_to_mirror(guest, domain_xml, legacy, copied_by_nova):
    """Target devices libvirt must mirror, in domain order.

    ``copied_by_nova`` is the ``(paths, devices)`` nova chose. A legacy
    domain has no volume, so every writable local disk is mirrored (nova's
    volume filter would drop the root at vdb). Read-only devices are never
    listed: libvirt refuses them and they are copied beforehand.
    """
    paths, devices = copied_by_nova
    read_only = read_only_disks(domain_xml)
    chosen = []
    for dev in guest.get_all_disks():
        if dev.shareable or dev.readonly or dev.target_dev in read_only:
            continue
        if dev.source_type not in ('file', 'block'):
            continue
        if legacy or dev.target_dev in devices:
            chosen.append(dev)
    return ([dev.source_path for dev in chosen],
            [dev.target_dev for dev in chosen])


# --- destination: placing what the source sent -----------------------------

def _candidate_rescue_images(instance):
    """Images a rescue made without our record may have used, in nova's
    order of choice (``LibvirtDriver.rescue``) after the user's own.
    """
    sysmeta = instance.system_metadata
    return [image for image in (
        rescue_record.read(instance).get(rescue_record.IMAGE),
        CONF.libvirt.rescue_image_id,
        sysmeta.get('image_base_image_ref'),
        instance.image_ref) if image]


def image_named(instance, cache_name):
    """The image id whose cache file name is ``cache_name``, or None.

    nova names cache files ``sha1(image id)``; only an id that hashes to the
    name is trusted, so a base is never filled with another image.
    """
    for image_id in _candidate_rescue_images(instance):
        if imagecache.get_cache_fname(image_id) == cache_name:
            return image_id
    return None


def _is_generated(cache_name):
    # nova regenerates these bases locally (ephemeral_<size>_<fs>, swap_<mb>)
    return cache_name.startswith(('ephemeral', 'swap'))


def _generated_base(info):
    """The cache name of the ephemeral or swap base under a ``disk`` JSON
    entry, or None.
    """
    name = os.path.basename(info.get('backing_file') or '')
    return name if name and _is_generated(name) else None


@contextlib.contextmanager
def copying_from(source_host):
    """A copy from the source that fails says which transport, from where to
    where: nova records a ``MigrationError``'s message in the
    ``compute_pre_live_migration`` event (255 characters; another error
    would show as its class name only). The server stays rescued on the
    source; nova's rollback removes what the destination made.
    """
    try:
        yield
    except processutils.ProcessExecutionError as e:
        detail = (e.stderr or e.description or '').strip().splitlines()
        raise exception.MigrationError(reason=_(
            'cannot copy the rescued server\'s disks from %(source)s to '
            '%(dest)s over ssh (tar; [libvirt] remote_filesystem_transport = '
            '%(transport)s): %(detail)s') % {
                'source': source_host, 'dest': CONF.host,
                'transport': CONF.libvirt.remote_filesystem_transport,
                'detail': detail[0] if detail else e})


def fill_foreign_bases(context, instance, instance_dir, disk_info,
                       fallback_from_host, image_backend, fetch_cached):
    """Fill backing files named after another image than the server's.

    Runs on the destination before nova's ``_create_images_and_backing``,
    which would download the server's image under any such name (the rescue
    disk's base is named after the rescue image). nova then finds the base
    and the disk in place and leaves them. Ephemeral and swap bases are
    :class:`SourcePull`'s.

    ``image_backend`` is the driver's image backend; ``fetch_cached`` is
    called as the driver's ``_try_fetch_image_cache`` (image, fetch function,
    context, cache name, image id, instance, size, host to fall back on).
    """
    for info in disk_info or []:
        backing = info.get('backing_file')
        if not backing:
            continue
        cache_name = os.path.basename(backing)
        target = os.path.join(instance_dir, os.path.basename(info['path']))
        if (not _is_generated(cache_name) and
                cache_name != imagecache.get_cache_fname(instance.image_ref)):
            _fill_base(context, instance, target, cache_name,
                       info['virt_disk_size'], fallback_from_host,
                       image_backend, fetch_cached)
        # else: nova downloads the server's image under its own name


def describe_generated_bases(disk_info):
    """Add to each entry over an ephemeral or swap base where that base is
    on this (the source) host and its content digest.

    nova makes these bases with mkfs/mkswap on each host, so one of the same
    name elsewhere holds other bytes (file system UUID, checksum seed); the
    destination uses its own only if the digests match.
    """
    for info in disk_info:
        if not _generated_base(info):
            continue
        path = _qcow2_backing(info['path'])
        if path and os.path.isfile(path):
            info[BASE] = {'path': path,
                          'digest': sparse_transfer.content_digest(path)}
    return disk_info


def _qcow2_backing(path):
    """The backing file a qcow2 header names, or None.

    Read from the header (:mod:`qcow2_header`) rather than with another
    ``qemu-img info``, which nova has just run for the same disk.
    """
    header = qcow2_header.read(path)
    return header[1] if header else None


def _base_dir():
    return os.path.join(CONF.instances_path,
                        CONF.image_cache.subdirectory_name)


def _generated_bases(disk_info):
    """``{cache name: (path on the source, digest or None)}``."""
    bases = {}
    for info in disk_info:
        name = _generated_base(info)
        if not name:
            continue
        # A source that sends no BASE keeps its bases where this host does;
        # the digest is then taken of what arrives.
        described = info.get(BASE) or {}
        bases[name] = (described.get('path') or
                       os.path.join(_base_dir(), name),
                       described.get('digest'))
    return bases


def takes(info):
    """Whether :class:`SourcePull` places this disk (nova does the rest)."""
    return bool(info.get(COPY) or _generated_base(info))


class SourcePull(object):
    """The destination's one sparse transfer from the source: the disks
    libvirt will not mirror and the ephemeral/swap bases this host lacks or
    holds with other bytes.

    :meth:`start` runs the transfer in the background, so that nova makes
    the other disks (root, rescue disk, their image bases) meanwhile;
    :meth:`place` then puts what came before nova makes the disks of
    :func:`takes`. A base goes into the image cache under nova's lock for
    its name: under that name if it is free or holds the same bytes, else
    under a name of its own (:func:`_alternate_names`), and the server's
    disks over it are pointed at that file.
    """

    def __init__(self, instance, instance_dir, disk_info, source):
        self.instance = instance
        self.instance_dir = instance_dir
        self.disk_info = disk_info or []
        self.source = source
        self.staging = os.path.join(instance_dir, '.rescue-lm-incoming')
        self.bases = _generated_bases(self.disk_info)
        #: cache name -> the local base the server's disks must use
        self.final = {}
        self.remote = []
        for name, (path, digest) in self.bases.items():
            local = os.path.join(_base_dir(), name)
            if (digest and os.path.isfile(local) and
                    sparse_transfer.content_digest(local) == digest):
                self.final[name] = local
            else:
                self.remote.append(path)
        self.remote += [info['path'] for info in self.disk_info
                        if info.get(COPY)]
        self._transfer = None

    def start(self):
        if not self.remote:
            return
        LOG.info('Copying %(files)s of the rescued server from %(host)s in '
                 'one sparse transfer (libvirt does not migrate them)',
                 {'files': ', '.join(os.path.basename(p)
                                     for p in self.remote),
                  'host': self.source}, instance=self.instance)
        fileutils.ensure_tree(self.staging)
        self._transfer = thread_pool_factory.spawn(
            sparse_transfer.pull, self.source, self.remote, self.staging)

    def wait(self):
        """Wait for the transfer (also when the caller gives up)."""
        try:
            if self._transfer is not None:
                self._transfer.result()
        finally:
            self._transfer = None

    def place(self, image_backend):
        """Put what arrived where nova and libvirt expect it.

        ``image_backend`` (the driver's) gives the image cache's lock path.
        """
        try:
            self.wait()
            if self.remote:
                self._place(image_backend)
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)

    def abandon(self):
        try:
            self.wait()
        except Exception:  # the caller's error is the one to report
            LOG.debug('Transfer from %s failed as well', self.source,
                      exc_info=True, instance=self.instance)
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)

    def _place(self, image_backend):
        for name, (path, digest) in self.bases.items():
            if name not in self.final:
                self.final[name] = _place_base(
                    image_backend, self.instance, name,
                    sparse_transfer.staged(self.staging, path), digest)
        for info in self.disk_info:
            name = os.path.basename(info.get('backing_file') or '')
            target = os.path.join(self.instance_dir,
                                  os.path.basename(info['path']))
            renamed = (name in self.final and
                       self.final[name] != os.path.join(_base_dir(), name))
            if info.get(COPY):
                _move(sparse_transfer.staged(self.staging, info['path']),
                      target)
                if renamed:
                    _rebase(target, self.final[name])
            elif renamed:
                # libvirt mirrors only this disk's top layer, which must
                # sit on the source's bytes
                libvirt_utils.create_image(
                    target, 'qcow2', info['virt_disk_size'],
                    backing_file=self.final[name], safe=True)


def _alternate_names(name, digest):
    """Cache names for a base whose own name holds other bytes here.

    An ephemeral base keeps nova's ``ephemeral_<GiB>_<7 characters>`` shape,
    so that nova's image cache manager ages and removes it like its own.
    """
    parts = name.split('_')
    for i in range(0, len(digest) - 6, 7):
        tag = digest[i:i + 7]
        if parts[0] == 'ephemeral' and len(parts) == 3:
            yield '_'.join(parts[:2] + [tag])
        else:
            yield '%s_%s' % (name, tag)


def _place_base(image_backend, instance, name, staged, digest):
    """Put the source's base ``staged`` into the image cache; its path."""
    digest = digest or sparse_transfer.content_digest(staged)
    lock_path = image_backend.by_name(instance, 'disk').lock_path
    fileutils.ensure_tree(_base_dir())
    for candidate in itertools.chain([name], _alternate_names(name, digest)):
        path = os.path.join(_base_dir(), candidate)

        @nova_utils.synchronized(candidate, external=True,
                                 lock_path=lock_path)
        def place():
            if not os.path.exists(path):
                _move(staged, path)
                return True
            return sparse_transfer.content_digest(path) == digest

        if place():
            if candidate != name:
                LOG.warning('This host\'s image cache has a %(name)s with '
                            'other bytes than the source\'s (nova makes '
                            'ephemeral and swap bases on each host); the '
                            'rescued server\'s disks use the source\'s, '
                            'cached as %(candidate)s.',
                            {'name': name, 'candidate': candidate},
                            instance=instance)
            return path
    raise exception.MigrationError(reason=_(
        'no free image cache name for the base %s') % name)


def _move(src, dest):
    try:
        os.replace(src, dest)
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
        # an image cache on another file system: a sparse copy
        partial = dest + '.rescue-lm-part'
        processutils.execute('cp', '--sparse=always', src, partial)
        os.replace(partial, dest)


def _rebase(disk, backing):
    """Point ``disk`` at ``backing``, which holds its old backing's bytes."""
    processutils.execute(
        'qemu-img', 'rebase', '-u', '-f', 'qcow2',
        '-F', images.qemu_img_info(backing).file_format, '-b', backing,
        disk)


def _copy_from(host):
    def copy_from_source(target):
        libvirt_utils.copy_image(src=target, dest=target, host=host,
                                 receive=True)
    return copy_from_source


def _fill_base(context, instance, target, cache_name, size,
               fallback_from_host, image_backend, fetch_cached):
    disk = image_backend.by_name(instance, target)
    image_id = image_named(instance, cache_name)
    if image_id:
        LOG.debug('Backing file %(name)s of %(disk)s is image %(image)s',
                  {'name': cache_name, 'disk': target, 'image': image_id},
                  instance=instance)
        fetch_cached(
            disk, libvirt_utils.fetch_image, context, cache_name, image_id,
            instance, size, fallback_from_host)
        return
    LOG.info('Backing file %(name)s of %(disk)s matches no known image; '
             'copying it from %(host)s', {'name': cache_name, 'disk': target,
                                          'host': fallback_from_host},
             instance=instance)
    disk.cache(fetch_func=_copy_from(fallback_from_host),
               filename=cache_name, size=size)


def rescue_kernel_ramdisk(instance):
    """``(file name, image id)`` of the rescue kernel and ramdisk.

    From our record; for a rescue made before the package was installed, the
    ids nova's rescue takes (``[libvirt] rescue_kernel_id`` /
    ``rescue_ramdisk_id``, else the server's).
    """
    record = rescue_record.read(instance)
    if record:
        kernel = record.get(rescue_record.KERNEL)
        ramdisk = record.get(rescue_record.RAMDISK)
    else:
        kernel, ramdisk = libvirt_rescue.nova_kernel_ramdisk(instance)
    files = []
    if kernel:
        files.append(('kernel' + RESCUE_SUFFIX, kernel))
        if ramdisk:
            files.append(('ramdisk' + RESCUE_SUFFIX, ramdisk))
    return files


def fetch_rescue_kernel_ramdisk(context, instance, source_host, fetch_image):
    """Fetch the rescue kernel and ramdisk this host lacks.

    ``fetch_image`` is called as the driver's ``_try_fetch_image`` (context,
    path, image id, instance, host to fall back on).
    """
    instance_dir = libvirt_utils.get_instance_path(instance)
    for name, image_id in rescue_kernel_ramdisk(instance):
        path = os.path.join(instance_dir, name)
        if not os.path.exists(path):
            fetch_image(context, path, image_id, instance, source_host)
