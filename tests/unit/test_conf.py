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

"""The options are listed the way oslo-config-generator loads them."""

import fixtures
from oslo_config import cfg
from oslo_config import generator
import testtools

from nova_rescue_lm import conf


class ListOptsTest(testtools.TestCase):

    def test_both_groups_are_listed(self):
        self.assertEqual({'rescue_lm', 'xenserver'},
                         {group.name for group, _ in conf.list_opts()})

    def test_generator_renders_both_groups(self):
        out = self.useFixture(fixtures.TempDir()).join('x.conf')
        gen_conf = cfg.ConfigOpts()
        generator.register_cli_opts(gen_conf)
        gen_conf(args=['--namespace', 'nova_rescue_lm',
                       '--output-file', out])
        generator.generate(gen_conf)
        with open(out) as f:
            sample = f.read()
        self.assertIn('[rescue_lm]', sample)
        self.assertIn('#live_migrate_rescued = true', sample)
        self.assertIn('[xenserver]', sample)
        self.assertIn('#connection_url = <None>', sample)
        self.assertIn('#sr_matching_filter = default-sr:true', sample)

    def test_every_option_has_help(self):
        for group, opts in conf.list_opts():
            for opt in opts:
                self.assertTrue(opt.help and opt.help.strip(), opt.name)
