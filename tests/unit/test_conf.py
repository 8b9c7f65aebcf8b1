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

import os
import pkgutil

import fixtures
from oslo_config import cfg
from oslo_config import generator
import testtools

from nova_rescue_lm import conf
from nova_rescue_lm.conf import opts


class ListOptsTest(testtools.TestCase):

    def test_both_groups_are_listed(self):
        self.assertEqual(['rescue_lm', 'xenserver'],
                         [group.name for group, _ in opts.list_opts()])

    def test_every_module_is_listed(self):
        """Each module of the package but opts.py defines one group."""
        names = {info.name for info in pkgutil.iter_modules(
            [os.path.dirname(conf.__file__)])} - {'opts'}
        self.assertEqual(names, {module.__name__.rsplit('.', 1)[1]
                                 for module in opts.MODULES})
        for module in opts.MODULES:
            (group, _), = module.list_opts().items()
            self.assertEqual(module.__name__.rsplit('.', 1)[1], group.name)

    def test_the_package_registers_every_option(self):
        for group, group_opts in opts.list_opts():
            self.assertEqual({opt.dest for opt in group_opts},
                             set(conf.CONF[group.name]))

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
        for group, group_opts in opts.list_opts():
            for opt in group_opts:
                self.assertTrue(opt.help and opt.help.strip(), opt.name)
