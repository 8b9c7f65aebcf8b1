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

"""The plugin class tempest discovers."""

import os

from tempest.test_discover import plugins

from nova_rescue_lm.tempest_plugin import config


class RescueLiveMigrationTempestPlugin(plugins.TempestPlugin):

    def load_tests(self):
        here = os.path.dirname(os.path.abspath(__file__))
        top = os.path.dirname(os.path.dirname(here))
        return os.path.join(here, 'tests'), top

    def register_opts(self, conf):
        conf.register_group(config.group)
        conf.register_opts(config.opts, group=config.group)

    def get_opt_lists(self):
        return [(config.group.name, config.opts)]
