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

"""Version documents that advertise microversion 2.105.

Nova's version apps render the module-level ``VERSIONS`` document, which
:mod:`nova_rescue_lm.api.microversion` updates. These factories make sure the
update happened whichever paste app is loaded first, and leave nova's
document as it is when the package is switched off.
"""

from nova.api.openstack.compute import versions

from nova_rescue_lm.api import microversion
from nova_rescue_lm import nova_shape


def _apply():
    if not nova_shape.api_differences():
        microversion.apply()


class Versions(versions.Versions):

    @classmethod
    def factory(cls, global_config, **local_config):
        _apply()
        return super().factory(global_config, **local_config)


class VersionsV2(versions.VersionsV2):

    @classmethod
    def factory(cls, global_config, **local_config):
        _apply()
        return super().factory(global_config, **local_config)
