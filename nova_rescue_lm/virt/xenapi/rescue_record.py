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

"""What a XenAPI rescue used: its image.

Nothing on the host records a rescue: the rescue VM can be rebuilt (and the
instance's own VM after it) on any host from this record, the flavor and the
tagged disks. The record's keys are :mod:`nova_rescue_lm.virt.rescue_record`'s.
"""

from nova_rescue_lm.virt import rescue_record


def record(instance, image_id):
    rescue_record.write(instance, {rescue_record.IMAGE: image_id,
                                   rescue_record.MODE: rescue_record.XENAPI})


def image_ref(instance):
    return instance.system_metadata.get(rescue_record.IMAGE)
