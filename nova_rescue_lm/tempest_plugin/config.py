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

"""Options of the tempest plugin (tempest.conf, group ``[rescue_lm]``)."""

from oslo_config import cfg

group = cfg.OptGroup(
    name='rescue_lm',
    title='nova-rescue-lm: live migration of rescued servers')

opts = [
    cfg.BoolOpt('live_migrate_rescued',
                default=False,
                help='Whether the cloud under test runs nova-rescue-lm '
                     '(microversion 2.105 on os-migrateLive for rescued '
                     'servers). False (the default, as tempest\'s feature '
                     'flags) skips the tests; set it to True in '
                     'tempest.conf for a cloud with the package (the '
                     'devstack plugin does).'),
    cfg.StrOpt('rescue_image_ref',
               help='Image to rescue servers with. Defaults to '
                    '[compute] image_ref_alt, then [compute] image_ref.'),
]
