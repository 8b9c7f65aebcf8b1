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
