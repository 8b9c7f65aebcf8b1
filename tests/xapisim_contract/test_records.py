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

"""Records and handles: get_all*, get_record, get_by_*, fields, maps."""

from tests.xapisim_contract import base


class RecordsTest(base.ContractTestCase):

    def test_pool_has_a_master_and_a_default_sr(self):
        pool = self.x.pool.get_record(self.pool_ref)
        self.assertIn(pool['master'], self.x.host.get_all())
        self.assertIn(pool['default_SR'], self.x.SR.get_all())

    def test_get_all_records_matches_get_record(self):
        for cls in ('host', 'SR', 'network', 'PBD', 'host_cpu'):
            api = getattr(self.x, cls)
            records = api.get_all_records()
            self.assertEqual(sorted(api.get_all()), sorted(records), cls)
            ref = sorted(records)[0]
            self.assertEqual(records[ref], api.get_record(ref), cls)

    def test_get_by_uuid_and_uuid_invalid(self):
        host = self.master
        uuid = self.x.host.get_uuid(host)
        self.assertEqual(host, self.x.host.get_by_uuid(uuid))
        missing = '00000000-0000-4000-8000-000000000000'
        self.assertEqual(['UUID_INVALID', 'VM', missing], self.assertFailure(
            'UUID_INVALID', self.x.VM.get_by_uuid, missing))

    def test_invalid_handles(self):
        bogus = 'OpaqueRef:11111111-1111-1111-1111-111111111111'
        for cls in ('VM', 'VDI', 'SR', 'VBD', 'VIF', 'network'):
            self.assertEqual(
                ['HANDLE_INVALID', cls, bogus],
                self.assertFailure('HANDLE_INVALID',
                                   getattr(self.x, cls).get_record, bogus))
        self.assertEqual(['HANDLE_INVALID', 'host', bogus],
                         self.assertFailure('HANDLE_INVALID',
                                            self.x.host.get_name_label,
                                            bogus))

    def test_get_by_name_label_returns_a_list(self):
        vm = self.create_vm(name='by-label')
        self.assertEqual([vm], self.x.VM.get_by_name_label(
            base.PREFIX + 'by-label'))
        self.assertEqual([], self.x.VM.get_by_name_label(
            base.PREFIX + 'no-such-vm'))

    def test_host_memory_and_cpus(self):
        host = self.master
        rec = self.x.host.get_record(host)
        metrics = self.x.host_metrics.get_record(rec['metrics'])
        self.assertLessEqual(int(metrics['memory_free']),
                             int(metrics['memory_total']))
        self.assertGreater(len(rec['host_CPUs']), 0)
        self.assertEqual(str(len(rec['host_CPUs'])),
                         rec['cpu_info']['cpu_count'])
        self.assertIn('product_version', rec['software_version'])
        free = int(self.x.host.compute_free_memory(host))
        self.assertGreater(free, 0)

    def test_simulated_pool_shape(self):
        self.sim_only('the pool shape is the simulator configuration')
        hosts = self.x.host.get_all_records()
        self.assertEqual(sorted(self.sim.host_refs.values()), sorted(hosts))
        metrics = self.x.host_metrics.get_record(
            hosts[self.sim.host_refs['xs-a1']]['metrics'])
        self.assertEqual(str(16384 * base.MiB), metrics['memory_total'])
        self.assertEqual(str(16384 * base.MiB), metrics['memory_free'])
        self.assertEqual(8, len(hosts[self.sim.host_refs['xs-a1']][
            'host_CPUs']))

    def test_shared_sr_is_plugged_on_every_host(self):
        hosts = self.x.host.get_all()
        for sr, rec in self.x.SR.get_all_records().items():
            pbd_hosts = {self.x.PBD.get_host(p) for p in rec['PBDs']}
            if rec['shared']:
                self.assertEqual(set(hosts), pbd_hosts, rec['name_label'])
            elif rec['content_type'] == 'user' and rec['PBDs']:
                self.assertEqual(1, len(pbd_hosts), rec['name_label'])

    def test_each_simulated_host_has_a_local_sr(self):
        self.sim_only('a local SR per host is the simulator layout')
        for name in self.sim.hosts:
            sr = self.sim.local_sr_ref(name)
            rec = self.x.SR.get_record(sr)
            self.assertFalse(rec['shared'])
            self.assertEqual([self.sim.host_refs[name]],
                             [self.x.PBD.get_host(p) for p in rec['PBDs']])

    def test_sr_sizes_follow_vdis(self):
        sr = self.default_sr
        before = self.x.SR.get_record(sr)
        for key in ('physical_size', 'physical_utilisation',
                    'virtual_allocation'):
            self.assertTrue(before[key].isdigit(), key)
        self.create_vdi(size_mb=64, sr=sr)
        after = self.x.SR.get_record(sr)
        self.assertGreaterEqual(
            int(after['virtual_allocation']) - int(
                before['virtual_allocation']), 64 * base.MiB)

    def test_sr_full(self):
        self.sim_only('filling a real SR is not something to do in a test')
        sr = self.default_sr
        size = int(self.x.SR.get_physical_size(sr))
        self.assertFailure(
            'SR_BACKEND_FAILURE_44', self.x.VDI.create, {
                'name_label': 'too-big', 'name_description': '', 'SR': sr,
                'virtual_size': str(size + 1), 'type': 'user',
                'sharable': False, 'read_only': False, 'other_config': {},
                'xenstore_data': {}, 'sm_config': {}, 'tags': []})

    def test_other_config_maps(self):
        vm = self.create_vm(other_config={'a': '1'})
        self.x.VM.add_to_other_config(vm, 'nova_uuid', 'abc')
        self.assertEqual('abc', self.x.VM.get_other_config(vm)['nova_uuid'])
        details = self.assertFailure('MAP_DUPLICATE_KEY',
                                     self.x.VM.add_to_other_config, vm,
                                     'nova_uuid', 'other')
        # db_cache_impl.ml: Duplicate_key (table, field, objref, key),
        # passed on by exnHelper.ml; datamodel_errors.ml calls the third
        # parameter "uuid", but it is the object's ref.
        self.assertEqual(['MAP_DUPLICATE_KEY', 'VM', 'other_config', vm,
                          'nova_uuid'], details)
        self.x.VM.remove_from_other_config(vm, 'nova_uuid')
        self.x.VM.remove_from_other_config(vm, 'never-there')
        oc = self.x.VM.get_other_config(vm)
        self.assertNotIn('nova_uuid', oc)
        self.assertEqual('1', oc['a'])
        self.x.VM.set_other_config(vm, {'b': '2'})
        self.assertEqual({'b': '2'}, self.x.VM.get_other_config(vm))

    def test_setters(self):
        vm = self.create_vm()
        self.x.VM.set_name_label(vm, base.PREFIX + 'renamed')
        self.x.VM.set_name_description(vm, 'described')
        rec = self.x.VM.get_record(vm)
        self.assertEqual(base.PREFIX + 'renamed', rec['name_label'])
        self.assertEqual('described', rec['name_description'])
        vdi = self.create_vdi()
        self.x.VDI.add_to_other_config(vdi, 'nova_disk_type', 'root')
        self.assertEqual({'nova_disk_type': 'root'},
                         self.x.VDI.get_other_config(vdi))

    def test_vm_list_has_control_domains_and_templates(self):
        # A driver listing its VMs must filter these out.
        records = self.x.VM.get_all_records().values()
        self.assertTrue(any(r['is_control_domain'] for r in records))
        self.assertTrue(any(r['is_a_template'] for r in records))
