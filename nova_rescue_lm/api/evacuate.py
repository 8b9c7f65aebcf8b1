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

"""The evacuate action, accepting rescued servers from 2.106 on."""

from nova.api.openstack import api_version_request
from nova.api.openstack.compute import evacuate
from nova.api.openstack import wsgi

from nova_rescue_lm.compute import api as compute_api
from nova_rescue_lm import microversions


class EvacuateController(evacuate.EvacuateController):
    """nova's controller with a compute API that knows rescued servers.

    nova's ``_evacuate`` handles the request (its schemas, policy, host
    lookup and 2.95's stopped target state); this override only tells the
    compute layer whether the caller asked for 2.106 or later.
    """

    def __init__(self):
        super().__init__()
        self.compute_api = compute_api.API()

    @wsgi.expected_errors((400, 403, 404, 409))
    @wsgi.action('evacuate')
    def _evacuate(self, req, id, body):
        opted_in = api_version_request.is_supported(
            req, microversions.RESCUED_EVACUATION)
        with compute_api.rescued_evacuation(opted_in):
            # nova's schema wrapper reads the body from keyword arguments.
            return super()._evacuate(req=req, id=id, body=body)
