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

"""The compute API microversions the package speaks of, in one place.

Imports nothing, so that the client side (the nova and openstack client
plugins, the drain) uses it on a workstation without nova.
"""

#: nova 34's own maximum microversion.
NOVA_MAX = '2.104'

#: The microversion at which os-migrateLive accepts servers in RESCUE state.
RESCUED_LIVE_MIGRATION = '2.105'

#: The microversion at which evacuate accepts servers in RESCUE state (their
#: host's nova-compute down); the server ends STOPPED, its rescue ended.
RESCUED_EVACUATION = '2.106'

#: The package's maximum microversion.
MAX = RESCUED_EVACUATION
