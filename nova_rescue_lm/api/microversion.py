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

"""Microversions 2.105 and 2.106: the only place that patches nova's data.

Nova keeps its maximum microversion in a module global
(``nova.api.openstack.api_version_request._MAX_API_VERSION``, read on every
request) and copies it into the version documents at import time
(``nova.api.openstack.compute.versions.VERSIONS``). Raising the maximum means
changing both. The paste factories do so only after
:func:`nova_rescue_lm.nova_shape.api_differences` found nothing amiss.
"""

from nova.api.openstack import api_version_request
from nova.api.openstack.compute import versions

from nova_rescue_lm import microversions

_stock = []


def applied():
    return bool(_stock)


def apply():
    """Advertise and accept the package's microversions (idempotent)."""
    if applied():
        return
    _stock.append((api_version_request._MAX_API_VERSION,
                   versions.VERSIONS['v2.1']['version']))
    api_version_request._MAX_API_VERSION = microversions.MAX
    versions.VERSIONS['v2.1']['version'] = microversions.MAX


def revert():
    """Serve nova's own maximum again."""
    if applied():
        (api_version_request._MAX_API_VERSION,
         versions.VERSIONS['v2.1']['version']) = _stock.pop()
