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

"""A rescued server's live migration whose source nova-compute died.

libvirt carries out a peer-to-peer migration on its own: when nova-compute
is killed in the middle, the migration may still complete, and the rescue
guest then runs on the destination while the database names the source.
nova at its restart only resets the task state (and tries to abort a job
that may be gone); the port bindings, allocations, volume attachments and
files of both hosts stay half-moved, and the server is rescued on a host
that no longer runs it.

So the source compute writes down what nova handed the migration (a
*journal*: destination, migrate data, the volume attachments of the source)
when libvirt's job starts, and drops it when the migration ends in this
process. At its next start, a journal left for a rescued server that is
still migrating means the process died midway: any libvirt job still running
is aborted, then nova's own ending is run from the journal, for where the
guest really is. If it runs on the destination, that is nova's post live
migration (the database, port bindings and allocations move there, the
source is cleaned up). If it runs here, that is nova's rollback, and the
failure is recorded. Where it runs cannot be told (the destination's libvirt
cannot be asked, or both run), only the task is reset, as nova would, and an
error says why.

The journal lives in ``[DEFAULT] state_path``, which is local to the host.
"""

import functools
import os
import time

from nova.compute import task_states
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.objects import base as objects_base
from nova import thread_pool_factory
from nova.virt.libvirt import driver as libvirt_driver
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import fileutils

from nova_rescue_lm import conf
from nova_rescue_lm.i18n import _
from nova_rescue_lm.virt import failure
from nova_rescue_lm.virt.libvirt import host_boot

CONF = conf.CONF
LOG = logging.getLogger(__name__)

#: How long libvirt gets to end a job this module aborted, and the
#: destination to drop the incoming domain of an aborted migration.
SETTLE_SECONDS = 60
_POLL = 0.5

#: How long the compute's first resource update may take.
READY_SECONDS = 600

#: Migration record states of a live migration that has not ended.
_UNENDED = ('queued', 'preparing', 'running')


class Interrupted(exception.NovaException):
    msg_fmt = _('nova-compute stopped during the live migration to '
                '%(dest)s, and libvirt %(outcome)s')


def _directory():
    return os.path.join(CONF.state_path, 'rescue_lm', 'live-migrations')


def _path(instance_uuid):
    return os.path.join(_directory(), instance_uuid + '.json')


def _primitive(obj):
    return obj.obj_to_primitive() if obj is not None else None


def write(context, instance, dest, block_migration, migrate_data,
          post_method):
    """Write the journal of a migration whose libvirt job starts now.

    ``post_method`` is nova's post-migration callback; nova binds it to the
    BDMs as they were on the source, which its cleanup needs (the source's
    volume connections and attachments).
    """
    source_bdms = getattr(post_method, 'keywords', {}).get('source_bdms')
    entry = {
        'dest': dest,
        'block_migration': bool(block_migration),
        'migration_id': migrate_data.migration.id,
        'migrate_data': _primitive(migrate_data),
        'source_bdms': _primitive(source_bdms),
        # the request's: what nova records the migration's action under
        'request_id': context.request_id,
    }
    fileutils.ensure_tree(_directory())
    tmp = _path(instance.uuid) + '.tmp'
    with open(tmp, 'w') as f:
        f.write(jsonutils.dumps(entry))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, _path(instance.uuid))


def remove(instance_uuid):
    try:
        os.unlink(_path(instance_uuid))
    except FileNotFoundError:
        pass


def _read(instance_uuid):
    try:
        with open(_path(instance_uuid)) as f:
            return jsonutils.loads(f.read())
    except FileNotFoundError:
        return None


def _left(instance_uuids):
    """Journals on this host whose instance is not in ``instance_uuids``."""
    try:
        names = os.listdir(_directory())
    except FileNotFoundError:
        return []
    return [n[:-len('.json')] for n in names
            if n.endswith('.json') and n[:-len('.json')] not in
            instance_uuids]


def journaled(method):
    """Wrap the driver's ``_live_migration``: the journal is written for a
    rescued server when libvirt's job starts, and removed when the method
    ends here, whether the migration completed or was rolled back. Only the
    death of the process leaves it behind.
    """
    @functools.wraps(method)
    def wrapper(self, context, instance, dest, post_method, recover_method,
                block_migration, migrate_data):
        rescued = (instance.vm_state == vm_states.RESCUED and
                   migrate_data.obj_attr_is_set('migration'))
        if rescued:
            try:
                write(context, instance, dest, block_migration,
                      migrate_data, post_method)
            except Exception:
                LOG.exception('Could not write the journal of this live '
                              'migration; if nova-compute stops before it '
                              'ends, its restart cannot finish it.',
                              instance=instance)
        try:
            result = method(self, context, instance, dest, post_method,
                            recover_method, block_migration, migrate_data)
        except Exception:
            if rescued:
                remove(instance.uuid)
            raise
        if rescued:
            remove(instance.uuid)
        return result
    return wrapper


class Host:
    """What this module asks of the driver: this host's libvirt, the
    destination's (read-only), and nova-compute's manager.

    Given by the driver: ``libvirt_host`` (its ``_host``), ``abort(instance)``
    (its ``live_migration_abort``), ``domain_state_at(dest, instance)`` (the
    state of the domain in ``dest``'s libvirt) and its ``virtapi``.
    """

    def __init__(self, libvirt_host, abort, domain_state_at, virtapi):
        self.libvirt_host = libvirt_host
        self._abort = abort
        self._domain_state_at = domain_state_at
        self.manager = getattr(virtapi, '_compute', None)

    def local_state(self, instance):
        """(defined, running, job running) of the domain here."""
        try:
            guest = self.libvirt_host.get_guest(instance)
        except exception.InstanceNotFound:
            return False, False, False
        libvirt = libvirt_driver.libvirt
        job = guest.get_job_info().type in (
            libvirt.VIR_DOMAIN_JOB_BOUNDED, libvirt.VIR_DOMAIN_JOB_UNBOUNDED)
        return True, guest.is_active(), job

    def abort(self, instance):
        self._abort(instance)

    def remote_state(self, dest, instance):
        return self._domain_state_at(dest, instance)


def wait_for(predicate, seconds=SETTLE_SECONDS):
    """Poll ``predicate`` until it is true or ``seconds`` have passed;
    returns its last value. Also the driver's wait for a lost migration
    (:mod:`nova_rescue_lm.virt.libvirt.lost_monitor`).
    """
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(_POLL)


def _unended_migration(context, instance):
    return host_boot.latest_live_migration(context, instance, _UNENDED)


def finish_at_startup(host, context, instances):
    """Take over the migrations of ``instances`` that this host's
    nova-compute left when it died; returns the other instances.

    ``host`` is the driver's :class:`Host`.

    Called by the driver before nova-compute initialises its instances, so
    nova's own startup handling (which resets the task state and leaves the
    rest half-moved) does not touch them. Their migrations are ended in a
    thread once the compute's resource tracker has made its first update,
    which nova's post live migration and rollback need.
    """
    migrating = {i.uuid: i for i in instances
                 if i.vm_state == vm_states.RESCUED and
                 i.task_state == task_states.MIGRATING}
    for uuid in _left(migrating):
        LOG.info('Dropping the journal of a live migration of instance '
                 '%s: it no longer migrates from this host.', uuid)
        remove(uuid)
    pending = []
    for instance in migrating.values():
        entry = _read(instance.uuid)
        if entry is None:
            continue
        migration = _unended_migration(context, instance)
        if (host.manager is None or migration is None or
                migration.id != entry['migration_id']):
            remove(instance.uuid)
            continue
        pending.append((instance, entry))
    if not pending:
        return instances
    LOG.warning('nova-compute stopped during the live migration of '
                '%d rescued server(s); each is ended once this compute\'s '
                'resources are known: %s', len(pending),
                ', '.join(i.uuid for i, _e in pending))
    thread_pool_factory.spawn(_finish_when_ready, host, context, pending)
    taken = {i.uuid for i, _e in pending}
    return objects.InstanceList(context, objects=[
        i for i in instances if i.uuid not in taken])


def _finish_when_ready(host, context, pending):
    wait_for(lambda: getattr(host.manager.rt, 'pci_tracker', None) is not None,
          READY_SECONDS)
    for instance, entry in pending:
        try:
            _finish(host, context, instance, entry)
        except Exception:
            LOG.exception('Could not end the live migration that '
                          'nova-compute left when it stopped.',
                          instance=instance)
        try:
            _settle(context, instance)
        finally:
            remove(instance.uuid)


def _settle(context, instance):
    """Whatever happened, the task and the migration end, as nova's own
    startup handling ends them.
    """
    instance.refresh()
    if instance.task_state == task_states.MIGRATING:
        instance.task_state = None
        instance.save(expected_task_state=[task_states.MIGRATING])
    migration = _unended_migration(context, instance)
    if migration is not None:
        migration.status = 'error'
        migration.save()


def _finish(host, context, instance, entry):
    """End the migration as nova does, for where the guest runs."""
    # as the migration's own request, so that what is recorded lands in
    # its instance action ('openstack server event show')
    context = context.elevated()
    context.request_id = entry['request_id']
    dest = entry['dest']
    migrate_data = objects_base.NovaObject.obj_from_primitive(
        entry['migrate_data'], context)
    source_bdms = (objects_base.NovaObject.obj_from_primitive(
        entry['source_bdms'], context) if entry['source_bdms'] else None)
    if source_bdms is None and any(
            bdm.is_volume for bdm in objects.BlockDeviceMappingList.
            get_by_instance_uuid(context, instance.uuid)):
        LOG.error('The journal of the live migration to %s lacks the '
                  'source\'s volume attachments: only its task is reset.',
                  dest, instance=instance)
        return

    defined, running, job = host.local_state(instance)
    if job:
        LOG.info('libvirt\'s migration job to %s still runs after '
                 'nova-compute stopped: aborting it.', dest,
                 instance=instance)
        try:
            host.abort(instance)
        except Exception as e:
            LOG.warning('Aborting the migration job failed: %s', e,
                        instance=instance)
        wait_for(lambda: not host.local_state(instance)[2])
        defined, running, job = host.local_state(instance)

    def there():
        try:
            return host.remote_state(dest, instance)
        except Exception as e:
            return 'unknown (%s)' % e

    if running and not job:
        # libvirt drops the destination's incoming domain of a migration
        # that failed; give it the time to.
        gone = wait_for(lambda: there() == host_boot.NOT_DEFINED)
        state = host_boot.NOT_DEFINED if gone else there()
        if state == host_boot.NOT_DEFINED:
            LOG.warning('The live migration to %s stopped with nova-compute '
                        'and did not complete; rolling it back, the rescued '
                        'server stays here.', dest, instance=instance)
            host.manager._rollback_live_migration(
                context, instance, dest, migrate_data,
                migration_status='error', source_bdms=source_bdms)
            try:
                raise Interrupted(dest=dest, outcome=_('did not complete it'))
            except Interrupted as e:
                failure.record(context, instance, instance.host, e)
            return
    elif not running:
        state = there()
        if state in ('running', 'paused'):
            LOG.warning('The live migration to %s completed in libvirt '
                        'after nova-compute stopped; finishing it as nova '
                        'does, the server now runs there.', dest,
                        instance=instance)
            host.manager._post_live_migration_update_host(
                context, instance, dest, entry['block_migration'],
                migrate_data, source_bdms)
            return
    else:
        state = there()
    LOG.error('The live migration to %(dest)s stopped with nova-compute, '
              'and where the rescued server runs cannot be told (here: '
              '%(here)s; %(dest)s: %(there)s). Only its task is reset; see '
              '"A live migration cut by nova-compute\'s death" in the '
              'nova-rescue-lm troubleshooting guide.',
              {'dest': dest, 'there': state,
               'here': 'running' if running else
               ('defined' if defined else 'not defined')},
              instance=instance)
