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

"""``openstack rescued server migrate``: live-migrate a server in RESCUE state.

The name follows OSC's ``<object> <action>`` form with a qualified object
(like ``floating ip`` or ``compute service``): the object is a *rescued
server*, the action is *migrate*, always live (a rescued server cannot be
cold-migrated). It starts with a word no OSC command starts with, so no
existing command line changes meaning (``server migrate rescued`` or
``server rescue migrate`` would capture a server named ``rescued`` or
``migrate``).

The request is the same ``os-migrateLive`` as ``openstack server migrate
--live-migration`` sends, at microversion 2.105 and only for this one
request; everything else goes through OSC's compute client as usual. The
options are those of ``server migrate --live-migration`` that apply at
2.105 (``--host``, ``--block-migration``/``--shared-migration``,
``--wait``).
"""

import time

from osc_lib.command import command
from osc_lib import exceptions

from nova_rescue_lm.drain import compute_api
from nova_rescue_lm.drain import results
from nova_rescue_lm.drain import running
from nova_rescue_lm.i18n import _
from nova_rescue_lm import microversions


class MigrateRescuedServer(command.Command):
    _description = _(
        "Live-migrate a server in RESCUE state (nova-rescue-lm; compute API "
        "microversion %s). The server stays rescued; unrescue it on its new "
        "host as usual.") % microversions.RESCUED_LIVE_MIGRATION

    #: Seconds between two looks at a migrating server (--wait).
    poll_interval = 2.0

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'server', metavar='<server>',
            help=_('Server to migrate (name or ID); it must be in RESCUE '
                   'state'))
        parser.add_argument(
            '--host', metavar='<hostname>',
            help=_('Destination host (admin by default); it must run '
                   'nova-rescue-lm. Without it the scheduler picks a host '
                   'that can take rescued servers'))
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            '--block-migration', dest='block_migration',
            action='store_const', const=True, default='auto',
            help=_('Perform a block live migration (default: auto)'))
        group.add_argument(
            '--shared-migration', dest='block_migration',
            action='store_const', const=False,
            help=_('Perform a shared live migration (default: auto)'))
        parser.add_argument(
            '--wait', action='store_true',
            help=_('Wait for the migration to end; fail if the server did '
                   'not move'))
        return parser

    def _say(self, text, entry=None):
        self.app.stdout.write(text + '\n')
        self.app.stdout.flush()

    def take_action(self, parsed_args):
        compute = self.app.client_manager.compute
        client = compute_api.ComputeClient(compute)
        server = compute.find_server(parsed_args.server, ignore_missing=False)
        try:
            offered = client.max_microversion()
        except compute_api.DrainError as e:
            raise exceptions.CommandError(str(e))
        if offered < compute_api.version_tuple(
                microversions.RESCUED_LIVE_MIGRATION):
            raise exceptions.CommandError(_(
                'The compute API offers microversions up to %(max)s, not '
                '%(needed)s: nova-rescue-lm is not enabled on this cloud\'s '
                'API, so nova refuses to live-migrate rescued servers.') % {
                    'max': compute_api.version_str(offered),
                    'needed': microversions.RESCUED_LIVE_MIGRATION})
        if server.vm_state != 'rescued' or server.task_state:
            raise exceptions.CommandError(_(
                'Server %(id)s is %(status)s%(task)s, not RESCUE: use '
                '"openstack server migrate --live-migration" for a server '
                'that is not rescued.') % {
                    'id': server.id, 'status': server.status,
                    'task': (' (task %s)' % server.task_state
                             if server.task_state else '')})
        entry = results.Entry(
            id=server.id, name=server.name, state=server.status,
            source=server.compute_host,
            microversion=microversions.RESCUED_LIVE_MIGRATION,
            target=parsed_args.host)
        if not running.start(client, entry, parsed_args.block_migration,
                           lambda *a, **k: None):
            raise exceptions.CommandError(self._refusal(entry))
        if parsed_args.wait:
            self._wait(client, entry)

    @staticmethod
    def _refusal(entry):
        if entry.result == results.GONE:
            return _('Server %s no longer exists.') % entry.id
        if entry.result == results.UNKNOWN:
            return entry.reason
        return _('Cannot live-migrate server %(id)s: %(reason)s') % {
            'id': entry.id, 'reason': entry.reason}

    def _wait(self, client, entry):
        self._say(_('Live migration of %s started; waiting.') % entry.id)
        if entry.source:
            while not running.poll(client, entry, None, lambda *a, **k: None):
                time.sleep(self.poll_interval)
        else:
            self._wait_without_hosts(client, entry)
        if entry.result == results.MOVED:
            self._say(_('Complete: server %(id)s moved%(from)s to %(to)s and '
                        'is %(state)s.') % {
                'id': entry.id, 'to': entry.dest, 'state': entry.state,
                'from': ' from %s' % entry.source if entry.source else ''})
            return
        if entry.result == results.GONE:
            raise exceptions.CommandError(
                _('Server %s was deleted while migrating.') % entry.id)
        raise exceptions.CommandError(_(
            'Live migration of server %(id)s failed: %(reason)s. The server '
            'is %(state)s%(where)s.') % {
                'id': entry.id, 'reason': entry.reason, 'state': entry.state,
                'where': ' on %s' % entry.source if entry.source else ''})

    def _wait_without_hosts(self, client, entry):
        """For callers who may not see hosts: the instance action tells.

        nova sets the action's message to "Error" when one of its events
        failed; the events' details are shown only to admins by default.
        """
        while True:
            resp = client.get('/servers/%s' % entry.id)
            if resp.status_code == 404:
                entry.result = results.GONE
                return
            if resp.status_code == 200:
                server = resp.json()['server']
                if (server.get('status') != 'MIGRATING' and
                        not server.get('OS-EXT-STS:task_state')):
                    entry.state = server.get('status', entry.state)
                    break
            time.sleep(self.poll_interval)
        action = running.instance_action(client, entry, '2.1')
        if action is not None and action.get('message') == 'Error':
            entry.result = results.FAILED
            entry.reason = running.failure_reason(client, entry, server)
        else:
            entry.result = results.MOVED
            entry.dest = _('a host you are not allowed to see')
