"""nova-rescue-lm-status upgrade check against a cloud mid-upgrade."""

from importlib import metadata
from unittest import mock

from nova.virt.libvirt import driver as libvirt_driver
from oslo_upgradecheck import upgradecheck

from nova_rescue_lm import capability
from nova_rescue_lm.cmd import status
from tests.functional import base

NAMES = ('nova internals', 'API paste pipeline', 'Compute capability',
         'Stale capability traits')


class TestUpgradeCheck(base.RescueLiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.start_compute('src')
        self.start_compute('stock', driver=base.STOCK_DRIVER)
        self.commands = status.UpgradeCommands()

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
        self.flags(api_paste_config=base.STOCK_PASTE_INI, group='wsgi')
        result = self._results()['API paste pipeline']
        self.assertEqual(upgradecheck.Code.FAILURE, result.code)
        for section in status.PASTE_FACTORIES:
            self.assertIn(section, result.details)

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
        self.assertIn('live migration of rescued servers is switched off',
                      result.details)
        self.assertIn('libvirt driver: LibvirtDriver._live_migration(',
                      result.details)
        self.assertIn('new_argument=None', result.details)
        self.assertEqual(upgradecheck.Code.FAILURE, overall)
