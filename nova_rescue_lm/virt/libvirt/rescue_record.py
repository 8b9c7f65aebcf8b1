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

"""What a libvirt rescue uses, as nova's libvirt driver chooses it.

The record's keys, and reading and clearing it, are
:mod:`nova_rescue_lm.virt.rescue_record`'s.
"""

import nova.conf
from nova.virt import hardware

from nova_rescue_lm.virt import rescue_record

CONF = nova.conf.CONF

#: The NVRAM file that only the rescue domain uses (a server without UEFI
#: rescued with a UEFI image); libvirt keeps it when nova's unrescue
#: undefines the rescue domain, so the unrescue has it deleted.
NVRAM = rescue_record.PREFIX + 'nvram'


def record(instance, image_meta):
    """Record the images and mode a libvirt rescue with ``image_meta`` uses.

    The choices are those nova's libvirt driver makes: the rescue image given
    by the API, else ``[libvirt] rescue_image_id``, else the server's image;
    ``[libvirt] rescue_kernel_id``/``rescue_ramdisk_id`` else the server's.
    The caller's ``instance.save()`` persists the record.
    """
    image = image_meta.id if image_meta.obj_attr_is_set('id') else None
    kernel, ramdisk = nova_kernel_ramdisk(instance)
    rescue_record.write(instance, {
        rescue_record.IMAGE: (image or CONF.libvirt.rescue_image_id or
                              instance.image_ref),
        rescue_record.KERNEL: kernel,
        rescue_record.RAMDISK: ramdisk,
        rescue_record.MODE: (
            rescue_record.STABLE_DEVICE
            if hardware.check_hw_rescue_props(image_meta)
            else rescue_record.LEGACY),
    })


def nova_kernel_ramdisk(instance):
    """The kernel and ramdisk ids nova's libvirt rescue boots with."""
    return (CONF.libvirt.rescue_kernel_id or instance.kernel_id,
            CONF.libvirt.rescue_ramdisk_id or instance.ramdisk_id)


def record_nvram(instance, own, rescue):
    """Record the rescue domain's NVRAM file ``rescue`` if the server's own
    domain (NVRAM file ``own``, or None) does not use it.
    """
    if rescue and rescue != own:
        instance.system_metadata[NVRAM] = rescue


def rescue_only_nvram(instance):
    """The NVRAM file only the rescue domain uses, or None."""
    return instance.system_metadata.get(NVRAM) or None
