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

"""Base for tests that run nova's own services with nova-rescue-lm.

nova's API (loaded through this repository's api-paste.ini, i.e. the
package's paste factories), conductor, scheduler, placement and several
libvirt computes with nova's fake libvirt connection, all in one process.
"""

import datetime
import os
import sys
import time
from urllib import parse

import fixtures
from lxml import etree
import webob.dec  # noqa: F401 (nova.api.wsgi needs it loaded)

from nova.api import wsgi as nova_wsgi
from nova import context as nova_context
from nova import objects
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional import integrated_helpers
from nova.tests.functional.libvirt import base as libvirt_base
from nova.virt.libvirt import utils as libvirt_utils
from oslo_serialization import jsonutils

from nova_rescue_lm import capability

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PASTE_INI = os.path.join(REPO_ROOT, 'etc', 'nova-rescue-lm', 'api-paste.ini')
#: nova's own api-paste.ini, as the nova wheel installs it.
STOCK_PASTE_INI = os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini')

RESCUE_LM_DRIVER = 'rescue_lm.libvirt.LibvirtDriver'
STOCK_DRIVER = 'libvirt.LibvirtDriver'
TRAIT = capability.TRAIT


class RescueLiveMigrationTestBase(
    libvirt_base.LibvirtMigrationMixin,
    libvirt_base.ServersTestBase,
    integrated_helpers.InstanceHelperMixin,
):
    ADMIN_API = True
    microversion = '2.105'

    def setUp(self):
        self.flags(api_paste_config=PASTE_INI, group='wsgi')
        super().setUp()
        # host-local state (the driver's migration journal); nova's default
        # is inside its own package
        self.flags(state_path=self.useFixture(fixtures.TempDir()).path)
        self.ctxt = nova_context.get_admin_context()
        #: migrate_disks of every migrateToURI3 call, by destination host.
        self.migrations = []

    def start_compute(self, hostname='compute1', *args, driver=None,
                      **kwargs):
        """Start a compute; ``driver`` defaults to the package's, and a
        restarted compute keeps the driver it had.
        """
        drivers = self.__dict__.setdefault('_drivers', {})
        drivers[hostname] = driver or drivers.get(hostname, RESCUE_LM_DRIVER)
        self.flags(compute_driver=drivers[hostname])
        return super().start_compute(hostname, *args, **kwargs)

    def _migrate_stub(self, domain, destination, params, flags):
        """The hypervisor's half: start the domain on the destination."""
        dest = self.computes[parse.urlparse(destination).hostname]
        self.migrations.append({
            'destination': dest.host,
            'migrate_disks': list(params.get('migrate_disks', [])),
            'flags': flags,
        })
        conn = dest.driver._host.get_connection()
        if flags & fakelibvirt.VIR_MIGRATE_PERSIST_DEST:
            # As libvirt does: the domain stays defined on the destination.
            conn.defineXML(params['destination_xml']).create()
        else:
            conn.createXML(params['destination_xml'],
                           'fake-createXML-doesnt-care-about-flags')
        domain.complete_job()

    #: how long a migration may take to reach a status: nova's helper waits
    #: 5 s, which a loaded CI machine copying real disk files can exceed
    MIGRATION_WAIT = 60

    def _wait_for_migration_status(self, server, expected_statuses):
        deadline = time.monotonic() + self.MIGRATION_WAIT
        while True:
            try:
                return super()._wait_for_migration_status(
                    server, expected_statuses)
            except self.failureException:
                if time.monotonic() > deadline:
                    raise

    # hosts an operator loses or upgrades

    def _power_loss(self, host):
        """``host`` fails: its nova-compute stops and the operator forces
        its service down, as before an evacuation.
        """
        self.computes[host].stop()
        [service] = self.api.get_services(host=host, binary='nova-compute')
        self.api.put_service(service['id'], {'forced_down': True})

    def _start_previous_release(self, host='previous'):
        """A compute on the package's previous release (0.1), as during a
        rolling upgrade: capable of 2.105, but its rebuild would not end a
        rescue, so its stats lack the evacuation key.
        """
        self.start_compute(host)
        compute = self.computes[host]
        reported = compute.driver.get_available_resource

        def previous_release(nodename):
            resources = reported(nodename)
            del resources['stats'][capability.STAT_EVACUATION]
            return resources
        compute.driver.get_available_resource = previous_release
        compute.manager.update_available_resource(self.ctxt)

    # helpers that read what a user (or operator) sees

    def _host_of(self, server):
        return self._show_server(server)['OS-EXT-SRV-ATTR:host']

    def _live_migrate_action(self, server, host=None, api=None,
                             check_response_status=None, **extra):
        body = {'os-migrateLive': dict(
            {'host': host, 'block_migration': 'auto'}, **extra)}
        kwargs = {}
        if check_response_status:
            kwargs['check_response_status'] = check_response_status
        return (api or self.api).api_post(
            '/servers/%s/action' % server['id'], body, **kwargs)

    def _domain_disks(self, hostname, server):
        """Source files of the server's domain on ``hostname``, in order."""
        conn = self.computes[hostname].driver._host.get_connection()
        dom = conn.lookupByUUIDString(server['id'])
        xml = etree.fromstring(dom.XMLDesc(0))
        return [(disk.find('target').get('dev'),
                 disk.find('source').get('file'))
                for disk in xml.findall('./devices/disk')
                if disk.find('source') is not None]

    def _instance_dir(self, server):
        instance = objects.Instance.get_by_uuid(self.ctxt, server['id'])
        return libvirt_utils.get_instance_path(instance)

    def _rescue_on_stock_compute(self, server):
        """Rescue on a compute running nova's own driver.

        nova's harness mocks image creation, so no instance directory exists
        and stock rescue fails writing unrescue.xml into it; a real host has
        the directory. Create it, then rescue as usual.
        """
        os.makedirs(self._instance_dir(server), exist_ok=True)
        return self._rescue_server(server)

    def _register_image(self, image_id, size, tags=None, **properties):
        """Add an active, public, bare raw image to nova's glance fixture."""
        timestamp = datetime.datetime(2021, 1, 2, 3, 4, 5,
                                      tzinfo=datetime.timezone.utc)
        image = {
            'id': image_id, 'name': 'image-' + image_id[:8],
            'created_at': timestamp, 'updated_at': timestamp,
            'deleted_at': None, 'deleted': False, 'status': 'active',
            'is_public': True, 'visibility': 'public',
            'container_format': 'bare', 'disk_format': 'raw',
            'size': size, 'min_ram': 0, 'min_disk': 0,
            'protected': False, 'properties': dict(properties)}
        if tags is not None:
            image['tags'] = tags
        self.glance.create(None, image)
        return image_id

    def _request_spec(self, server):
        return objects.RequestSpec.get_by_instance_uuid(
            self.ctxt, server['id'])

    def _migrations_of(self, server):
        return self.api.api_get(
            '/os-migrations?instance_uuid=%s' % server['id']
        ).body['migrations']

    def _live_migration_action(self, server):
        """The server's latest live-migration action and its events, as
        ``openstack server event show`` displays them.
        """
        action = [a for a in self.api.get_instance_actions(server['id'])
                  if a['action'] == 'live-migration'][0]
        events = self.api.api_get(
            '/servers/%s/os-instance-actions/%s' % (
                server['id'], action['request_id']),
        ).body['instanceAction']['events']
        return action, events

    def _wsgi_request(self, paste_ini, method, path, body=None,
                      microversion=None, roles='reader,member,admin',
                      user='admin'):
        """Send one request straight to the app a paste file builds.

        Used to compare the package's API with nova's own, byte for byte.
        """
        app = nova_wsgi.Loader(paste_ini).load_app('osapi_compute')
        req = webob.Request.blank('/v2.1' + path, method=method)
        req.headers.update({
            'X-Auth-User': user, 'X-User-Id': user,
            'X-Auth-Project-Id': self.api.project_id, 'X-Roles': roles,
            'Content-Type': 'application/json'})
        if microversion:
            req.headers['OpenStack-API-Version'] = 'compute ' + microversion
        if body is not None:
            req.body = jsonutils.dumps(body).encode()
        return req.get_response(app)
