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

"""Live-migration data: stock through the conductor, richer between computes.

Nova 34 registers no XenAPI live-migrate data class, and nova-conductor does
not load this package, so whatever reaches the conductor must be a class
nova registers. The driver uses ``HyperVLiveMigrateData`` there (its one
field, ``is_shared_instance_path = True``, makes nova ask the source to clean
up without destroying disks, and always call the destination on rollback).

What only the computes need (the destination's pool and host, and for a
storage migration XAPI's ``migrate_receive`` token, SR and networks) travels
in ``XenAPILiveMigrateData``, a subclass registered here, on the legs that go
from compute to compute and never through the conductor:

* ``check_can_live_migrate_destination`` -> ``check_can_live_migrate_source``
  (the destination calls the source) and back;
* ``pre_live_migration``'s answer (the source calls the destination);
* ``rollback_live_migration_at_destination`` (the source calls it).

The destination turns the data back into the stock class in
``check_source_migrate_data_at_dest``, the last step before its answer goes
to the conductor.

The ``migrate_receive`` token holds a session at the destination pool's
master logged in as ``[xenserver] connection_username`` (root, in most
pools: XAPI scopes sessions by role only for users of an external directory,
never for local root). It cannot be kept out of the object (the source must
present it to XAPI, and only the destination can make it), so it is kept
out of what is printed: nova logs live-migrate data at debug level, and this
object's repr shows the token's keys but not the session in its values. It
never reaches the conductor, and it is short-lived: it is made for the
pre-checks and again in pre_live_migration, and logged out as soon as it is
spent or the migration is rolled back (XAPI itself drops a session unused
for 24 hours, ``inactive_session_timeout`` in xen-api's xapi_globs.ml, if a
compute dies first).
"""

from nova import objects
from nova.objects import base as obj_base
from nova.objects import fields
from nova.objects import migrate_data
from oslo_versionedobjects import fields as ovo_fields

#: The class nova-conductor sees; must be one nova 34 registers.
StockLiveMigrateData = migrate_data.HyperVLiveMigrateData

#: migrate_receive token keys whose values carry no session.
TOKEN_PUBLIC_KEYS = frozenset(('host', 'master'))
_HIDDEN = "'***'"


class _Token(ovo_fields.Dict):
    """A dict of strings whose repr hides all values but the public ones
    (the session is in ``session_id`` and in the ``SM`` and ``xenops``
    URLs). On the wire it is an ordinary dict of strings.
    """

    def stringify(self, value):
        return '{%s}' % ','.join(
            '%s=%s' % (key, self._element_type.stringify(val)
                       if key in TOKEN_PUBLIC_KEYS else _HIDDEN)
            for key, val in sorted(value.items()))


class TokenField(ovo_fields.AutoTypedField):
    AUTO_TYPE = _Token(ovo_fields.String())


@obj_base.NovaObjectRegistry.register
class XenAPILiveMigrateData(StockLiveMigrateData):
    """Known only to computes that run nova-rescue-lm's XenAPI driver."""

    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'xapi_pool_uuid': fields.StringField(),
        'xapi_host_uuid': fields.StringField(),
        # XAPI's host.migrate_receive answer; empty for VM.pool_migrate.
        # Never printed whole: it holds a session (see above).
        'migrate_send_data': TokenField(),
        'destination_sr_ref': fields.StringField(nullable=True),
        # MAC address -> destination network ref.
        'vif_networks': fields.DictOfStringsField(),
    }

    @property
    def storage_migration(self):
        return bool(self.obj_attr_is_set('migrate_send_data') and
                    self.migrate_send_data)


def _stock_fields():
    return set(StockLiveMigrateData.fields)


def to_stock(data):
    """A stock ``HyperVLiveMigrateData`` with ``data``'s stock fields."""
    stock = objects.HyperVLiveMigrateData()
    for name in _stock_fields():
        if data.obj_attr_is_set(name):
            setattr(stock, name, getattr(data, name))
    stock.is_shared_instance_path = True
    return stock


def from_stock(data):
    """``XenAPILiveMigrateData`` carrying ``data``'s stock fields."""
    ours = XenAPILiveMigrateData()
    for name in _stock_fields():
        if data is not None and data.obj_attr_is_set(name):
            setattr(ours, name, getattr(data, name))
    ours.is_shared_instance_path = True
    return ours
