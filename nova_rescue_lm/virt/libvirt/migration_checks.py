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

"""Which live migrations of a rescue domain can be done without data loss.

Shared instance storage and shared block storage (RBD) move nothing but
memory. A block migration (qcow2 or flat files, instance directory not
shared) is made complete by :mod:`.rescue_disks`. What cannot be made
correct is refused in the source pre-check, before anything moves:

* LVM: nova's block migration creates a file where the domain expects a
  logical volume, for any server, and without a shared instance path the
  rescue disk and config drive would be lost as well;
* a tunnelled block migration: libvirt copies no disk at all when nova asks
  for tunnelling (selective disk migration is not possible there);
* image backends and hypervisors nova's block migration does not copy files
  for (ploop, parallels);
* post-copy: with ``[libvirt] live_migration_permit_post_copy`` and
  ``live_migration_timeout_action = force_complete`` a slow migration
  switches to post-copy, after which the rescue guest runs on the
  destination while its memory is still on the source; a failure then
  loses the running rescue guest and the disk writes it made there. That
  has not been proven safe for rescued servers, so it is refused. (With the
  timeout action ``abort`` nova never switches: the force-complete API
  answers 409 for a rescued server.)

Conditions that hold for every migration from a compute (LVM, tunnelling)
also switch off the capability, so the API answers 400 up front instead of
the conductor trying every host.
"""

import nova.conf
from nova import exception

from nova_rescue_lm.i18n import _

CONF = nova.conf.CONF

#: image backends whose block migration this package makes complete
FILE_BACKENDS = ('default', 'qcow2', 'flat', 'raw')
VIRT_TYPES = ('kvm', 'qemu')


def host_refusal():
    """Why no rescued server can be live-migrated from or to this compute
    with its configuration, or None.
    """
    if CONF.libvirt.images_type == 'lvm':
        return _("[libvirt] images_type = lvm: nova cannot block-migrate "
                 "logical volumes (it would create files in their place)")
    if CONF.libvirt.live_migration_tunnelled:
        return _("[libvirt] live_migration_tunnelled = True: a tunnelled "
                 "block migration copies no disk, so the rescue disk, root "
                 "and config drive of a rescued server would be lost")
    return post_copy_refusal()


def post_copy_refusal():
    """Why this compute's migrations may switch to post-copy, or None."""
    if (CONF.libvirt.live_migration_permit_post_copy and
            CONF.libvirt.live_migration_timeout_action == 'force_complete'):
        return _("post-copy is not supported for rescued servers, and "
                 "[libvirt] live_migration_permit_post_copy with "
                 "live_migration_timeout_action = force_complete may switch "
                 "to it (set the timeout action to abort)")
    return None


def _refuse(instance, why):
    # nova keeps 255 characters of it in the instance action event, behind
    # its own prefix: the reason comes first.
    raise exception.MigrationPreCheckError(reason=_(
        "%(why)s. Server %(uuid)s is rescued and cannot be live-migrated "
        "here: unrescue the server and migrate it then, or choose a "
        "destination that shares its instance directory (or RBD storage) "
        "with the source.") % {'uuid': instance.uuid, 'why': why})


def refuse_unsafe(instance, migrate_data):
    """Raise ``MigrationPreCheckError`` unless the move can be complete.

    ``migrate_data`` is what nova's source pre-check returned (block
    migration decided, shared-storage flags set).
    """
    dest_type = (migrate_data.image_type
                 if migrate_data.obj_attr_is_set('image_type') else None)
    if 'lvm' in (CONF.libvirt.images_type, dest_type):
        _refuse(instance, _("the %s host stores disks in LVM, which nova "
                            "cannot live-migrate without losing data") %
                (_('source') if CONF.libvirt.images_type == 'lvm'
                 else _('destination')))
    post_copy = post_copy_refusal()
    if post_copy:
        _refuse(instance, post_copy)
    if not migrate_data.block_migration:
        return
    if CONF.libvirt.live_migration_tunnelled:
        _refuse(instance, _("tunnelled block migration copies no disk "
                            "([libvirt] live_migration_tunnelled)"))
    if CONF.libvirt.virt_type not in VIRT_TYPES:
        _refuse(instance, _("block migration of a rescue domain is "
                            "supported with virt_type kvm or qemu only"))
    for side, images_type in ((_('source'), CONF.libvirt.images_type),
                              (_('destination'), dest_type)):
        if images_type is not None and images_type not in FILE_BACKENDS:
            _refuse(instance, _("block migration with the %(type)s image "
                                "backend on the %(side)s is not supported "
                                "for rescued servers") %
                    {'type': images_type, 'side': side})
