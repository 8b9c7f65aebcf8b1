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

"""What a XenAPI rescue used, kept in ``instance.system_metadata``.

Nothing on the host records a rescue: the rescue VM can be rebuilt (and the
instance's own VM after it) on any host from this record, the flavor and the
tagged disks. Keys do not start with ``image_`` or ``trait:``.
"""

PREFIX = 'rescue_lm_'
IMAGE = PREFIX + 'image_ref'
MODE = PREFIX + 'mode'
XENAPI = 'xenapi'


def record(instance, image_id):
    clear(instance)
    instance.system_metadata.update({IMAGE: image_id, MODE: XENAPI})


def image_ref(instance):
    return instance.system_metadata.get(IMAGE)


def clear(instance):
    for key in [k for k in instance.system_metadata if k.startswith(PREFIX)]:
        del instance.system_metadata[key]
