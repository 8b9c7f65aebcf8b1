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

"""What a rescue used, recorded in the database rather than on the host.

Any compute the server lands on (after a live migration, say) can read the
record from ``instance.system_metadata``. The keys deliberately do not start
with ``image_`` (nova turns those into ``instance.image_meta``) or ``trait:``.
"""

import nova.conf
from nova.virt import hardware

CONF = nova.conf.CONF

PREFIX = 'rescue_lm_'
IMAGE = PREFIX + 'image_ref'
KERNEL = PREFIX + 'kernel_id'
RAMDISK = PREFIX + 'ramdisk_id'
MODE = PREFIX + 'mode'

LEGACY = 'legacy'
STABLE_DEVICE = 'stable-device'


def record(instance, image_meta):
    """Record the images and mode a libvirt rescue with ``image_meta`` uses.

    The choices are those nova's libvirt driver makes: the rescue image given
    by the API, else ``[libvirt] rescue_image_id``, else the server's image;
    ``[libvirt] rescue_kernel_id``/``rescue_ramdisk_id`` else the server's.
    The caller's ``instance.save()`` persists the record.
    """
    image = image_meta.id if image_meta.obj_attr_is_set('id') else None
    kernel, ramdisk = nova_kernel_ramdisk(instance)
    values = {
        IMAGE: image or CONF.libvirt.rescue_image_id or instance.image_ref,
        KERNEL: kernel,
        RAMDISK: ramdisk,
        MODE: (STABLE_DEVICE if hardware.check_hw_rescue_props(image_meta)
               else LEGACY),
    }
    clear(instance)
    instance.system_metadata.update(
        {key: value for key, value in values.items() if value})


def nova_kernel_ramdisk(instance):
    """The kernel and ramdisk ids nova's libvirt rescue boots with."""
    return (CONF.libvirt.rescue_kernel_id or instance.kernel_id,
            CONF.libvirt.rescue_ramdisk_id or instance.ramdisk_id)


def read(instance):
    """The recorded values (possibly empty: rescued before installation)."""
    return {key: value for key, value in instance.system_metadata.items()
            if key.startswith(PREFIX)}


def clear(instance):
    for key in list(read(instance)):
        del instance.system_metadata[key]
