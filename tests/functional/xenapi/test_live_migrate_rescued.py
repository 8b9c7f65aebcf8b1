"""Rescue, live-migrate at 2.105 and unrescue with XenAPI computes."""

from tests.functional.xenapi import base


class TestWithinPool(base.XenAPITestBase):
    """Two computes, one per host of one pool with shared storage."""

    def setUp(self):
        super().setUp()
        sim = self.start_pool('pool-a', ('xs-a1', 'xs-a2'))
        self.start_compute('cmp-a1', sim, 'xs-a1')
        self.start_compute('cmp-a2', sim, 'xs-a2')

    def _rescued_server(self):
        server = self._create_server(host='cmp-a1', networks='none')
        return self._rescue_server(server)

    def test_computes_report_the_trait(self):
        for host in ('cmp-a1', 'cmp-a2'):
            self.assertIn(base.TRAIT, self._provider_traits_of(host))

    def test_rescue_migrate_unrescue(self):
        server = self._create_server(host='cmp-a1', networks='none')
        pool, vm = self.the_vm(server)
        original = self.layout(vm)
        root = original[0][1]
        self.pools['pool-a'].write_vdi(root, b'GUEST-DATA', offset=512)

        server = self._rescue_server(server)
        pool, vm = self.the_vm(server)
        self.assertEqual('rescue', vm['other_config']['nova_rescue_lm_role'])
        self.assertEqual('xs-a1', vm['resident_on'])
        self.assertEqual('Running', vm['power_state'])
        # nova recorded the power state of the VM that runs.
        self.assertEqual(1, self._show_server(server)[
            'OS-EXT-STS:power_state'])

        resp = self._live_migrate_action(server, host='cmp-a2')
        self.assertEqual(202, resp.status)
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual('cmp-a2', self._host_of(server))
        self.assertEqual('xs-a2', self._show_server(server)[
            'OS-EXT-SRV-ATTR:hypervisor_hostname'])
        pool, vm = self.the_vm(server)
        self.assertEqual('rescue', vm['other_config']['nova_rescue_lm_role'])
        self.assertEqual('xs-a2', vm['resident_on'])
        self.assertEqual([(dev + 1, vdi) for dev, vdi in original],
                         self.layout(vm)[1:])

        server = self._unrescue_server(server)
        self.assertEqual('cmp-a2', self._host_of(server))
        pool, vm = self.the_vm(server)
        self.assertEqual('instance',
                         vm['other_config']['nova_rescue_lm_role'])
        self.assertEqual('xs-a2', vm['resident_on'])
        self.assertEqual(original, self.layout(vm))
        self.assertEqual(b'GUEST-DATA', self.pools['pool-a'].vdi_bytes(
            root)[512:522])
        self.assertNotIn('rescue', {kind for (_p, kind, _d)
                                    in self.disks_of(server)})
        sysmeta = self._instance(server).system_metadata
        self.assertFalse([k for k in sysmeta if k.startswith('rescue_lm_')])
