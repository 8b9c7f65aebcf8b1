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

"""Removal of what a rescue leaves on a libvirt host.

After unrescue nothing of the rescue may remain, wherever the rescue was
started: ``*.rescue`` files and directories in the instance directory,
``*.rescue`` logical volumes and RBD images, and any ``unrescue.xml`` (written
by nova's own rescue, or left by a rescue made before this package was
installed). ``unrescue.xml`` is never read: it describes the host the rescue
started on, not necessarily this one. An NVRAM file that only the rescue
domain used is deleted by libvirt, as the rescue domain is undefined
(:func:`dropping_nvram`).
"""

import contextlib
import contextvars
import glob
import os
import shutil

import nova.conf
from nova.storage import rbd_utils
from nova.virt.libvirt.storage import lvm
from nova.virt.libvirt import utils as libvirt_utils
from oslo_log import log as logging

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

UNRESCUE_XML = 'unrescue.xml'
SUFFIX = '.rescue'

#: (instance uuid, NVRAM file) the unrescue in progress may have deleted.
_nvram_to_drop = contextvars.ContextVar('rescue_lm_nvram', default=None)


@contextlib.contextmanager
def dropping_nvram(instance, path):
    """Within this block, undefining ``instance``'s domain while it uses the
    NVRAM file ``path`` (None: no file) deletes the file.
    """
    token = _nvram_to_drop.set((instance.uuid, path) if path else None)
    try:
        yield
    finally:
        _nvram_to_drop.reset(token)


def nvram_to_drop(instance):
    """The NVRAM file :func:`dropping_nvram` named for ``instance``, or
    None.
    """
    dropping = _nvram_to_drop.get()
    return dropping[1] if dropping and dropping[0] == instance.uuid else None


def remove_unrescue_xml(instance):
    path = os.path.join(libvirt_utils.get_instance_path(instance),
                        UNRESCUE_XML)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    LOG.debug('Removed %s', path, instance=instance)


def remove_rescue_files(instance):
    pattern = os.path.join(libvirt_utils.get_instance_path(instance),
                           '*' + SUFFIX)
    for path in glob.glob(pattern):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
        LOG.debug('Removed rescue artifact %s', path, instance=instance)


def remove_rescue_volumes(instance, lvm_disks):
    """LVM and RBD rescue disks of ``instance``.

    ``lvm_disks(instance)`` lists the instance's logical volumes (the
    driver's ``_lvm_disks``); it is called only with ``images_type = lvm``.
    """
    images_type = CONF.libvirt.images_type
    if images_type == 'lvm':
        lvm.remove_volumes([disk for disk in lvm_disks(instance)
                            if disk.endswith(SUFFIX)])
    elif images_type == 'rbd':
        rbd_utils.RBDDriver().cleanup_volumes(
            lambda disk: (disk.startswith(instance.uuid) and
                          disk.endswith(SUFFIX)))


def remove_all(instance, lvm_disks):
    remove_unrescue_xml(instance)
    remove_rescue_files(instance)
    remove_rescue_volumes(instance, lvm_disks)
