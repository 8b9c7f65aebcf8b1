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

"""The OpenStackClient plugin module (``openstack.cli.extension``).

OSC imports this module on every run to learn the plugin's name and command
group; it adds no global option and loads nothing else. Its commands
(``openstack.rescue_lm.v1`` entry points, see
:mod:`nova_rescue_lm.client.osc_commands`) are loaded only when one of them
is run or listed.

Why a command of our own rather than ``openstack server migrate
--live-migration``: openstacksdk pins the microversion of that request (2.30,
whatever ``--os-compute-api-version`` says), so making it send 2.105 would
mean replacing OSC's command or patching openstacksdk for every user of
either. A new command changes nothing that exists.

Evacuating a rescued server (microversion 2.106) needs no command here:
``openstack --os-compute-api-version 2.106 server evacuate`` works as it
is, since openstacksdk sends ``evacuate`` at the microversion the session
was given and OSC's compute plugin accepts any version (openstacksdk checks
it against the API's version document).
"""

API_NAME = 'rescue_lm'
#: OSC reads this option name from its configuration; no option is added,
#: so the default version always applies.
API_VERSION_OPTION = 'os_rescue_lm_api_version'
DEFAULT_API_VERSION = '1'
API_VERSIONS = ('1',)


def make_client(instance):
    """The compute client (openstacksdk's compute proxy) OSC already has."""
    return instance.compute


def build_option_parser(parser):
    """No global option of our own."""
    return parser


def check_api_version(check_version):
    """Only one version; nothing for OSC to warn about."""
    return True
