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

"""What this package relies on inside nova, checked by its shape.

Stable branches never add microversions, so every nova 34.x can run the
package; but a point release may still change a private method or a
decorator. Instead of trusting a version string, the package compares what
it relies on beyond nova's public interfaces with the installed nova:

* the API: nova's maximum microversion, the signatures of the controller
  methods it overrides, and the decorator stacks of
  ``compute.API.live_migrate`` and ``compute.API.evacuate`` with every
  decorator's arguments (state lists, ``until=``);
* the libvirt driver: the signature of every private ``LibvirtDriver`` and
  ``Guest`` method the package's driver overrides or calls, and of the public
  ones it overrides.

When something differs the feature switches off and says why, and no nova
service refuses to start: nova-api serves nova's own behaviour (maximum
2.104, 409 for rescued servers), the compute reports no capability, and
``nova-rescue-lm-status upgrade check`` fails. The expected shapes below are
nova 34.0.0's; ``tests/unit/test_nova_shape.py`` holds them against the
installed nova and against the package's own overrides.
"""

import functools
import inspect

from oslo_log import log as logging

from nova_rescue_lm import microversions
from nova_rescue_lm import release

LOG = logging.getLogger(__name__)

#: nova 34's own maximum microversion.

#: ``MigrateServerController`` methods the API overrides.
MIGRATE_SERVER_CONTROLLER = {
    '_migrate_live': '(self, req, id, body)',
}

#: ``EvacuateController`` methods the API overrides.
EVACUATE_CONTROLLER = {
    '_evacuate': '(self, req, id, body)',
}

#: ``compute.API.evacuate``: its signature, then its decorators from the
#: outermost in, each with the arguments it closes over.
EVACUATE_SIGNATURE = ('(self, context, instance, host, on_shared_storage, '
                      'admin_password=None, force=None, target_state=None)')
EVACUATE_STACK = (
    ('block_shares_not_supported.<locals>.inner.<locals>.wrapper', {}),
    ('block_extended_resource_request.<locals>.inner', {}),
    ('block_port_accelerators.<locals>.inner.<locals>.wrapper', {}),
    ('reject_vtpm_instances.<locals>.outer.<locals>.inner',
     {'operation': 'evacuate'}),
    ('block_accelerators.<locals>.inner.<locals>.wrapper',
     {'until_service': 53}),
    ('check_instance_state.<locals>.outer.<locals>.inner',
     {'must_have_launched': True, 'task_state': None,
      'vm_state': ['active', 'error', 'stopped']}),
)

#: ``compute.API.live_migrate``: its signature, then its decorators from the
#: outermost in, each with the arguments it closes over.
LIVE_MIGRATE_SIGNATURE = ('(self, context, instance, block_migration, '
                          'disk_over_commit, host_name, force=None, '
                          'async_=False)')
LIVE_MIGRATE_STACK = (
    ('block_shares_not_supported.<locals>.inner.<locals>.wrapper', {}),
    ('block_extended_resource_request.<locals>.inner', {}),
    ('block_port_accelerators.<locals>.inner.<locals>.wrapper', {}),
    ('reject_vdpa_instances.<locals>.outer.<locals>.inner',
     {'operation': 'live-migration', 'until': 63}),
    ('block_accelerators.<locals>.inner.<locals>.wrapper',
     {'until_service': None}),
    ('reject_legacy_vtpm_live_migration.<locals>.inner', {}),
    ('reject_mem_enc_instances.<locals>.outer.<locals>.inner',
     {'operation': 'live-migration'}),
    ('check_instance_lock.<locals>.inner', {}),
    ('check_instance_state.<locals>.outer.<locals>.inner',
     {'must_have_launched': True, 'task_state': [None],
      'vm_state': ['active', 'paused']}),
)

#: ``nova.virt.libvirt.driver.LibvirtDriver`` methods the package's driver
#: overrides (public and private) or calls (private), annotations left out.
LIBVIRT_DRIVER = {
    '__init__': '(self, virtapi, read_only=False)',
    'init_host': '(self, host)',
    'process_instances_at_startup': '(self, context, instances)',
    'live_migration_abort': '(self, instance)',
    'capabilities_as_traits': '(self)',
    'get_available_resource': '(self, nodename)',
    'rescue': ('(self, context, instance, network_info, image_meta, '
               'rescue_password, block_device_info, share_info)'),
    'unrescue': '(self, context, instance)',
    'spawn': ('(self, context, instance, image_meta, injected_files, '
              'admin_password, allocations, network_info=None, '
              'block_device_info=None, power_on=True, accel_info=None)'),
    'instance_on_disk': '(self, instance)',
    'resume_state_on_host_boot': ('(self, context, instance, network_info, '
                                  'share_info, block_device_info=None)'),
    'check_can_live_migrate_source': ('(self, context, instance, '
                                      'dest_check_data, '
                                      'block_device_info=None)'),
    '_get_guest_xml': ('(self, context, instance, network_info, disk_info, '
                       'image_meta, rescue=None, block_device_info=None, '
                       'mdevs=None, accel_info=None, share_info=None, '
                       'old_guest=None)'),
    '_get_instance_disk_info': '(self, instance, block_device_info)',
    '_live_migration_copy_disk_paths': '(self, context, instance, guest)',
    '_live_migration': ('(self, context, instance, dest, post_method, '
                        'recover_method, block_migration, migrate_data)'),
    '_live_migration_operation': ('(self, context, instance, dest, '
                                  'block_migration, migrate_data, guest, '
                                  'device_names)'),
    '_create_images_and_backing': ('(self, context, instance, instance_dir, '
                                   'disk_info, fallback_from_host=None)'),
    '_fetch_instance_kernel_ramdisk': ('(self, context, instance, '
                                       'fallback_from_host=None)'),
    '_hard_reboot': ('(self, context, instance, network_info, share_info, '
                     'block_device_info=None, accel_info=None)'),
    '_get_instance_disk_info_from_config': ('(self, guest_config, '
                                            'block_device_info)'),
    '_get_disk_config_image_type': '()',
    '_create_guest_with_network': (
        '(self, context, xml, instance, network_info, block_device_info, '
        'power_on=True, vifs_already_plugged=False, post_xml_callback=None, '
        'external_events=None, cleanup_instance_dir=False, '
        'cleanup_instance_disks=False)'),
    '_try_fetch_image_cache': ('(self, image, fetch_func, context, filename, '
                               'image_id, instance, size, '
                               'fallback_from_host=None)'),
    '_try_fetch_image': ('(self, context, path, image_id, instance, '
                         'fallback_from_host=None)'),
    '_lvm_disks': '(self, instance)',
    '_connect_volume': ('(self, context, connection_info, instance, '
                        'encryption=None)'),
    '_live_migration_uri': '(dest)',
    '_undefine_domain': '(self, instance, keep_vtpm=False, keep_nvram=False)',
}

#: ``nova.compute.manager.ComputeManager`` methods the libvirt driver calls
#: to end a migration that nova-compute's death interrupted.
COMPUTE_MANAGER = {
    '_post_live_migration_update_host': (
        '(self, ctxt, instance, dest, block_migration=False, '
        'migrate_data=None, source_bdms=None)'),
    '_rollback_live_migration': (
        "(self, context, instance, dest, migrate_data=None, "
        "migration_status='failed', source_bdms=None, "
        "pre_live_migration=False)"),
}

#: ``nova.virt.libvirt.guest.Guest``: the subclass keeps ``_domain`` and
#: overrides ``migrate``; the driver reads a domain's job and state after a
#: migration or a process that was cut.
LIBVIRT_GUEST = {
    '__init__': '(self, domain)',
    'get_job_info': '(self)',
    'get_power_state': '(self, host)',
    'is_active': '(self)',
    'migrate': ('(self, destination, migrate_uri=None, migrate_disks=None, '
                'destination_xml=None, flags=0, bandwidth=0, parallel=0)'),
}

#: ``nova.virt.libvirt.imagebackend.Backend``
LIBVIRT_IMAGE_BACKEND = {
    'by_name': '(self, instance, name, image_type=None, '
               'disk_info_mapping=None)',
}


def signature(func):
    """``func``'s parameters as text: names, kinds and defaults only."""
    sig = inspect.signature(func)
    return str(sig.replace(
        parameters=[p.replace(annotation=inspect.Parameter.empty)
                    for p in sig.parameters.values()],
        return_annotation=inspect.Signature.empty))


def _value(value):
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return value


def stack(func):
    """``func``'s decorators from the outermost in: (name, arguments).

    The arguments are the values each layer closes over, except the
    function it wraps.
    """
    layers = []
    while hasattr(func, '__wrapped__'):
        code = func.__code__
        closed = {}
        for name, cell in zip(code.co_freevars, func.__closure__ or ()):
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if not callable(value):
                closed[name] = _value(value)
        layers.append((code.co_qualname, closed))
        func = func.__wrapped__
    return tuple(layers)


def compare_methods(cls, expected):
    """What differs between ``cls``'s methods and ``expected`` signatures."""
    found = []
    for name, sig in expected.items():
        method = inspect.getattr_static(cls, name, None)
        if method is None:
            found.append('%s.%s is missing' % (cls.__name__, name))
            continue
        actual = signature(getattr(cls, name))
        if actual != sig:
            found.append('%s.%s%s (expected %s)' % (
                cls.__name__, name, actual, sig))
    return found


def compare_stack(name, func, expected):
    actual = stack(func)
    if actual == tuple(expected):
        return []
    return ['the decorators of %s are %r (expected %r)' % (
        name, actual, tuple(expected))]


def _api_differences():
    from nova.api.openstack import api_version_request
    from nova.api.openstack.compute import evacuate
    from nova.api.openstack.compute import migrate_server
    from nova.compute import api as compute_api

    from nova_rescue_lm.api import microversion
    from nova_rescue_lm.compute import evacuate_checks
    from nova_rescue_lm.compute import live_migrate_checks

    found = []
    current = api_version_request._MAX_API_VERSION
    if current != microversions.NOVA_MAX and not microversion.applied():
        found.append('the maximum API microversion is %s (expected %s)' % (
            current, microversions.NOVA_MAX))
    found += compare_methods(migrate_server.MigrateServerController,
                             MIGRATE_SERVER_CONTROLLER)
    live_migrate = compute_api.API.live_migrate
    if signature(live_migrate) != LIVE_MIGRATE_SIGNATURE:
        found.append('compute.API.live_migrate%s (expected %s)' % (
            signature(live_migrate), LIVE_MIGRATE_SIGNATURE))
    found += compare_stack('compute.API.live_migrate', live_migrate,
                           LIVE_MIGRATE_STACK)
    found += compare_methods(evacuate.EvacuateController,
                             EVACUATE_CONTROLLER)
    evacuate_ = compute_api.API.evacuate
    if signature(evacuate_) != EVACUATE_SIGNATURE:
        found.append('compute.API.evacuate%s (expected %s)' % (
            signature(evacuate_), EVACUATE_SIGNATURE))
    found += compare_stack('compute.API.evacuate', evacuate_, EVACUATE_STACK)
    if not found:
        found += live_migrate_checks.differences()
        found += evacuate_checks.differences()
    return found


def _libvirt_differences():
    from nova.compute import manager
    from nova.virt.libvirt import driver
    from nova.virt.libvirt import guest
    from nova.virt.libvirt import imagebackend

    return (compare_methods(driver.LibvirtDriver, LIBVIRT_DRIVER) +
            compare_methods(manager.ComputeManager, COMPUTE_MANAGER) +
            compare_methods(guest.Guest, LIBVIRT_GUEST) +
            compare_methods(imagebackend.Backend, LIBVIRT_IMAGE_BACKEND))


#: What is checked, by the part of nova that relies on it (looked up when
#: called).
_PARTS = (('nova-api', lambda: _api_differences()),
          ('the libvirt driver', lambda: _libvirt_differences()))


def _inspect(differences):
    """``differences()``, never raising: an error is a difference too."""
    try:
        return differences()
    except Exception as e:  # a nova that changed beyond what we can read
        return ['cannot be inspected: %s: %s' % (type(e).__name__, e)]


def _checked(part, differences):
    """:func:`_inspect`, logged once when anything differs."""
    found = _inspect(differences)
    if found:
        LOG.error('nova-rescue-lm: live migration and evacuation of '
                  'rescued servers are switched off in %(part)s: the '
                  'installed nova %(nova)s differs from what the package '
                  'relies on: %(found)s',
                  {'part': part, 'nova': release.installed_nova_release(),
                   'found': '; '.join(found)})
    return found


@functools.lru_cache(maxsize=None)
def api_differences():
    """Why nova-api must serve nova's own behaviour ([] when it need not).

    Asked once per process, before the package changes anything, and
    logged once.
    """
    return _checked(*_PARTS[0])


@functools.lru_cache(maxsize=None)
def libvirt_differences():
    """Why a libvirt compute must report the capability off ([] if not)."""
    return _checked(*_PARTS[1])


def all_differences():
    """Every difference, for the upgrade check; not cached, not logged."""
    return ['%s: %s' % (part, found)
            for part, differences in _PARTS
            for found in _inspect(differences)]
