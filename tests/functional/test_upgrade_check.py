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

"""nova-rescue-lm-status upgrade check against a cloud mid-upgrade."""

from importlib import metadata
import os
import shutil
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import plugin as ks_plugin
from nova.virt.libvirt import driver as libvirt_driver
from oslo_upgradecheck import upgradecheck
from wsgi_intercept import interceptor

from nova_rescue_lm import capability
from nova_rescue_lm.cmd import status
from tests.functional import base
from tests.unit import fakes

NAMES = ('nova internals', 'API paste pipeline', 'Running API',
         'Compute capability', 'Stale capability traits',
         'Evacuation of rescued servers')


class Catalog(ks_plugin.BaseAuthPlugin):
    """keystone's side: a token, and a catalog naming one compute endpoint.
    """

    def __init__(self, compute):
        super().__init__()
        self.compute = compute

    def get_token(self, session, **kwargs):
        return 'token'

    def get_endpoint(self, session, service_type=None, **kwargs):
        return self.compute if service_type == 'compute' else None


class TestUpgradeCheck(base.RescueLiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('stock', driver=base.STOCK_DRIVER)
        self.commands = status.UpgradeCommands()
        # nova-api's configuration directory (OS_NOVA_CONFIG_DIR), with the
        # package's paste file as api-paste.ini
        self.etc = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_NOVA_CONFIG_DIR', self.etc))
        self._install_paste(base.PASTE_INI)

    def _install_paste(self, source, name='api-paste.ini'):
        shutil.copy(source, os.path.join(self.etc, name))

    def _results(self):
        checks = dict(self.commands._upgrade_checks)
        return {name: checks[name](self.commands) for name in NAMES}

    def test_rolling_upgrade_lists_the_nodes_left_to_upgrade(self):
        results = self._results()
        self.assertEqual(upgradecheck.Code.SUCCESS,
                         results['nova internals'].code)
        self.assertEqual(upgradecheck.Code.SUCCESS,
                         results['API paste pipeline'].code)
        lacking = results['Compute capability']
        self.assertEqual(upgradecheck.Code.WARNING, lacking.code)
        self.assertIn('1 of 2 compute nodes', lacking.details)
        self.assertIn(': stock.', lacking.details)
        self.assertEqual(upgradecheck.Code.SUCCESS,
                         results['Stale capability traits'].code)
        self.assertEqual(upgradecheck.Code.WARNING, self.commands.check())

    def test_a_node_switched_off_says_why(self):
        self.flags(live_migrate_rescued=False, group='rescue_lm')
        self.start_compute('off')
        self.flags(live_migrate_rescued=True, group='rescue_lm')
        result = self._results()['Compute capability']
        self.assertEqual(upgradecheck.Code.WARNING, result.code)
        self.assertIn('2 of 3 compute nodes', result.details)
        self.assertIn(': off (its driver says: [rescue_lm] '
                      'live_migrate_rescued is False), stock.',
                      result.details)

    def test_nodes_that_cannot_take_evacuations_are_named(self):
        self.assertEqual(upgradecheck.Code.SUCCESS, self._results()[
            'Evacuation of rescued servers'].code)
        # a capable node of the previous release: no evacuation key
        self._start_previous_release()
        self.commands = status.UpgradeCommands()  # a new run
        result = self._results()['Evacuation of rescued servers']
        self.assertEqual(upgradecheck.Code.WARNING, result.code)
        self.assertIn('1 of 2 capable compute nodes cannot take an '
                      'evacuated rescued server (microversion 2.106): '
                      'previous.', result.details)

    def test_trait_left_behind_by_a_downgraded_node_is_stale(self):
        rp = self.compute_rp_uuids['stock']
        self._set_provider_traits(
            rp, list(self._get_provider_traits(rp)) + [capability.TRAIT])
        results = self._results()
        self.assertEqual(upgradecheck.Code.SUCCESS,
                         results['Compute capability'].code)
        stale = results['Stale capability traits']
        self.assertEqual(upgradecheck.Code.WARNING, stale.code)
        self.assertIn('is on stock although', stale.details)
        self.assertNotIn('src', stale.details)

    def test_stock_api_paste_is_a_failure(self):
        self._install_paste(base.STOCK_PASTE_INI)
        result = self._results()['API paste pipeline']
        self.assertEqual(upgradecheck.Code.FAILURE, result.code)
        self.assertIn(os.path.join(self.etc, 'api-paste.ini'),
                      result.details)
        for section in status.PASTE_FACTORIES:
            self.assertIn(section, result.details)

    def test_paste_result_follows_the_file_nova_api_loads(self):
        result = self._results()['API paste pipeline']
        self.assertEqual(upgradecheck.Code.SUCCESS, result.code)
        self.assertIn('the file nova-api loads', result.details)
        # [wsgi] api_paste_config changes nothing nova-api loads...
        self._install_paste(base.STOCK_PASTE_INI)
        self.flags(api_paste_config=base.PASTE_INI, group='wsgi')
        self.assertEqual(upgradecheck.Code.FAILURE,
                         self._results()['API paste pipeline'].code)
        # ... OS_NOVA_CONFIG_FILES does.
        self._install_paste(base.PASTE_INI, name='paste-rescue-lm.ini')
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_NOVA_CONFIG_FILES', 'paste-rescue-lm.ini;nova.conf'))
        self.assertEqual(upgradecheck.Code.SUCCESS,
                         self._results()['API paste pipeline'].code)

    def _ask_api(self, paste_ini, endpoint='http://api.example:8774/v2.1'):
        """The running check against nova-api built from ``paste_ini``,
        found through the catalog at ``endpoint``.
        """
        # (base imports nova.api.wsgi the way it must be: webob.dec first)
        app = base.nova_wsgi.Loader(paste_ini).load_app('osapi_compute')
        catalog = Catalog(endpoint)
        with mock.patch.object(ks_loading, 'load_auth_from_conf_options',
                               return_value=catalog) as load, \
                interceptor.RequestsInterceptor(
                    app=lambda: app, host='api.example', port=8774):
            result = self._results()['Running API']
        load.assert_called_with(status.CONF, 'placement')
        return result

    def test_running_api_offering_2_106_is_a_success(self):
        result = self._ask_api(base.PASTE_INI)
        self.assertEqual(upgradecheck.Code.SUCCESS, result.code)
        self.assertEqual('nova-api at http://api.example:8774/v2.1/ offers '
                         'microversion 2.106.', result.details)

    def test_running_api_without_the_package_is_a_failure(self):
        # the paste file here is right, the API node answering is not (a
        # process of its own, which never loaded the package)
        self.useFixture(fakes.MicroversionState())
        result = self._ask_api(base.STOCK_PASTE_INI,
                               endpoint='http://api.example:8774/v2.1/'
                                        'a1b2c3')
        self.assertEqual(upgradecheck.Code.FAILURE, result.code)
        self.assertIn('nova-api at http://api.example:8774/v2.1/ offers '
                      'microversions up to 2.104, not 2.106', result.details)
        self.assertEqual(upgradecheck.Code.SUCCESS,
                         self._results()['API paste pipeline'].code)

    def test_running_api_that_cannot_be_asked_is_a_warning(self):
        # no [placement] credentials (the harness has none)
        result = self._results()['Running API']
        self.assertEqual(upgradecheck.Code.WARNING, result.code)
        self.assertIn('no [placement] credentials', result.details)
        # nothing listens at the catalog's endpoint
        with mock.patch.object(ks_loading, 'load_auth_from_conf_options',
                               return_value=Catalog('http://127.0.0.1:9/')):
            result = self._results()['Running API']
        self.assertEqual(upgradecheck.Code.WARNING, result.code)
        self.assertIn('Could not ask the running nova-api', result.details)
        self.assertIn('ConnectFailure', result.details)

    def test_missing_paste_file_is_a_failure_naming_it(self):
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_NOVA_CONFIG_DIR', os.path.join(self.etc, 'nowhere')))
        result = self._results()['API paste pipeline']
        self.assertEqual(upgradecheck.Code.FAILURE, result.code)
        self.assertIn('nowhere/api-paste.ini', result.details)
        self.assertIn('OS_NOVA_CONFIG_DIR', result.details)

    def test_broken_paste_file_is_a_failure(self):
        with open(os.path.join(self.etc, 'api-paste.ini'), 'w') as f:
            f.write('[app:osapi_compute_app_v21\nno section end\n')
        result = self._results()['API paste pipeline']
        self.assertEqual(upgradecheck.Code.FAILURE, result.code)
        self.assertIn('cannot be read', result.details)

    def test_missing_placement_credentials_never_crash(self):
        # What keystoneauth raises for auth_type = password without
        # auth_url (setting that for real would register the plugin's
        # options in nova's global configuration for every later test).
        auth_url = [o for o in ks_loading.get_plugin_loader(
            'password').get_options() if o.dest == 'auth_url']
        self.useFixture(fixtures.MockPatch(
            'keystoneauth1.loading.load_auth_from_conf_options',
            side_effect=ks_exc.MissingRequiredOptions(
                auth_url)))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.scheduler.client.report.PLACEMENTCLIENT', None))
        results = self._results()
        for name in ('Compute capability', 'Stale capability traits'):
            self.assertEqual(upgradecheck.Code.FAILURE, results[name].code)
            self.assertIn('[placement]', results[name].details)
        self.assertEqual(upgradecheck.Code.SUCCESS,
                         results['nova internals'].code)
        self.assertEqual(upgradecheck.Code.FAILURE, self.commands.check())

    def test_a_check_that_raises_is_a_failure_not_a_traceback(self):
        with mock.patch('nova.objects.CellMappingList.get_all',
                        side_effect=RuntimeError('no API database')):
            results = self._results()
            overall = self.commands.check()
        self.assertEqual(upgradecheck.Code.FAILURE, overall)
        self.assertIn('The check could not run: RuntimeError: no API '
                      'database', results['Compute capability'].details)
        self.assertEqual(upgradecheck.Code.SUCCESS,
                         results['API paste pipeline'].code)

    def test_a_nova_point_release_is_a_success(self):
        real = metadata.version
        with mock.patch('importlib.metadata.version',
                        side_effect=lambda n: '34.0.1' if n == 'nova'
                        else real(n)):
            result = self._results()['nova internals']
        self.assertEqual(upgradecheck.Code.SUCCESS, result.code)
        self.assertIn('nova 34.0.1 has every internal', result.details)

    def test_a_changed_nova_internal_is_a_failure(self):
        def _live_migration(self, context, instance, dest, post_method,
                            recover_method, block_migration, migrate_data,
                            new_argument=None):
            pass
        with mock.patch.object(libvirt_driver.LibvirtDriver,
                               '_live_migration', _live_migration):
            result = self._results()['nova internals']
            overall = self.commands.check()
        self.assertEqual(upgradecheck.Code.FAILURE, result.code)
        self.assertIn('live migration and evacuation of rescued servers are '
                      'switched off',
                      result.details)
        self.assertIn('libvirt driver: LibvirtDriver._live_migration(',
                      result.details)
        self.assertIn('new_argument=None', result.details)
        self.assertEqual(upgradecheck.Code.FAILURE, overall)
