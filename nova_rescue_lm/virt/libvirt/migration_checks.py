"""Which live migrations of a rescue domain can be done without data loss.

A rescue domain does not contain every disk of the server (a legacy rescue
has no ephemeral, swap or volume), its rescue disk sits on the rescue image,
and its config drive is read-only; nova's block migration copies only what the
running domain shows, so it would leave data behind. Until the block-migration
support lands, a rescued server moves only when source and destination share
the instance directory; anything else is refused in the source pre-check,
before anything moves.
"""

from nova import exception

from nova_rescue_lm.i18n import _


def refuse_unsafe(instance, migrate_data):
    """Raise ``MigrationPreCheckError`` unless the move is safe."""
    if migrate_data.obj_attr_is_set('is_shared_instance_path') and \
            migrate_data.is_shared_instance_path:
        return
    raise exception.MigrationPreCheckError(reason=_(
        "server %s is rescued and the destination does not share its "
        "instance directory with the source; this release live-migrates "
        "rescued servers only on shared instance storage (a block migration "
        "of a rescue domain would not copy its ephemeral, swap and config "
        "drive disks). Choose a destination that shares the instance "
        "directory, or unrescue the server and migrate it then.")
        % instance.uuid)
