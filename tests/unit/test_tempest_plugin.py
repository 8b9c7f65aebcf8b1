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

"""The tempest plugin as tempest finds and loads it."""

import importlib.metadata
import os

from oslo_config import cfg
import testtools

from nova_rescue_lm.tempest_plugin import plugin


class TestTempestPlugin(testtools.TestCase):

    def test_entry_point_names_the_plugin_class(self):
        eps = importlib.metadata.entry_points(group='tempest.test_plugins')
        ours = [ep for ep in eps if ep.name == 'nova-rescue-lm']
        self.assertEqual(1, len(ours))
        self.assertIs(plugin.RescueLiveMigrationTempestPlugin,
                      ours[0].load())

    def test_load_tests_points_at_the_test_modules(self):
        test_dir, top = plugin.RescueLiveMigrationTempestPlugin().load_tests()
        self.assertTrue(os.path.isfile(os.path.join(
            test_dir, 'api', 'test_live_migrate_rescued.py')))
        # tempest imports the tests as nova_rescue_lm.tempest_plugin...
        self.assertEqual(os.path.join(top, 'nova_rescue_lm',
                                      'tempest_plugin', 'tests'), test_dir)

    def test_options_registered_and_listed(self):
        conf = cfg.ConfigOpts()
        p = plugin.RescueLiveMigrationTempestPlugin()
        p.register_opts(conf)
        # off unless tempest.conf turns it on, as tempest's feature flags
        self.assertIs(False, conf.rescue_lm.live_migrate_rescued)
        self.assertIsNone(conf.rescue_lm.rescue_image_ref)
        self.assertEqual(['rescue_lm'], [g for g, _ in p.get_opt_lists()])
