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

"""A rescue's record in ``instance.system_metadata``, for both drivers.

What a rescue used is kept in the database rather than on the host, so any
compute the server lands on (after a live migration, say) can unrescue it.
The keys deliberately do not start with ``image_`` (nova turns those into
``instance.image_meta``) or ``trait:``. Each driver decides what to record
(``virt/libvirt/rescue_record.py``, ``virt/xenapi/rescue_record.py``).
"""

from nova.compute import vm_states

PREFIX = 'rescue_lm_'
IMAGE = PREFIX + 'image_ref'
KERNEL = PREFIX + 'kernel_id'
RAMDISK = PREFIX + 'ramdisk_id'
MODE = PREFIX + 'mode'

#: Values of :data:`MODE`: libvirt's two rescue domains, and XenAPI's.
LEGACY = 'legacy'
STABLE_DEVICE = 'stable-device'
XENAPI = 'xenapi'


def read(instance):
    """The recorded values (possibly empty: rescued before installation)."""
    return {key: value for key, value in instance.system_metadata.items()
            if key.startswith(PREFIX)}


def in_rescue(instance):
    """True while ``instance`` is rescued: by its state, or by its record
    (a server put in ERROR while rescued).
    """
    return instance.vm_state == vm_states.RESCUED or bool(read(instance))


def clear(instance):
    for key in list(read(instance)):
        del instance.system_metadata[key]


def write(instance, values):
    """Replace the record with ``values``, leaving out empty ones; the
    caller's ``instance.save()`` persists it.
    """
    clear(instance)
    instance.system_metadata.update(
        {key: value for key, value in values.items() if value})
