"""The options are listed the way oslo-config-generator loads them."""

import fixtures
from oslo_config import cfg
from oslo_config import generator
import testtools

from nova_rescue_lm import conf


class ListOptsTest(testtools.TestCase):

    def test_generator_renders_the_rescue_lm_group(self):
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

    def test_every_option_has_help(self):
        for group, opts in conf.list_opts():
            for opt in opts:
                self.assertTrue(opt.help and opt.help.strip(), opt.name)
