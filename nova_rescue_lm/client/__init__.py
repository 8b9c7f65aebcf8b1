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

"""Client-side support: the nova and openstack CLIs at microversion 2.105.

Installed on an operator's workstation with the ``client`` extra
(``pip install 'nova-rescue-lm[client]'``). Nothing here imports nova, and
nothing here is loaded by nova-api or nova-compute.
"""
