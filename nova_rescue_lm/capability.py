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

"""The driver capability, and how a compute node proves it has it.

Two signals must agree before a node may send or receive a rescued server:

* the placement trait ``CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED`` on the node's
  resource provider, which the package's drivers report True or False;
* the ``ComputeNode.stats`` marker that the package's drivers write on every
  resource update. nova rewrites the stats of a node from whichever driver
  runs, at service start and periodically, so a compute switched back to
  nova's own driver drops the marker, while the trait it once reported stays
  in placement for ever (nova removes only the traits its driver names).

A trait alone is therefore never proof: a stale "yes" sends a rescue domain
to a driver that loses its disks.
"""

from nova_rescue_lm.i18n import _

#: Driver capability flag named by the nova-spec.
CAPABILITY = 'supports_live_migrate_rescued'

#: Placement trait reported by computes whose driver has the capability.
TRAIT = 'CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED'

#: ``ComputeNode.stats`` key the drivers refresh on every resource update
#: ('True' or 'False'); a trait without it is stale.
STAT = 'rescue_lm_live_migrate_rescued'

#: ``ComputeNode.stats`` key with why a driver of this package reports the
#: capability off (for the upgrade check and the operator).
STAT_REASON = STAT + '_reason'

#: Flavor extra spec that makes nova's ComputeCapabilitiesFilter (enabled
#: by default) keep only nodes whose stats carry the marker.
STAT_EXTRA_SPEC = 'capabilities:stats:' + STAT

#: ``ComputeNode.stats`` key ('True') of capable drivers that also end a
#: rescue when they rebuild an evacuated server (2.106): the libvirt driver
#: from 0.2 on. A capable node without it (an older release of the package
#: during a rolling upgrade, or XenAPI, which cannot evacuate) would keep
#: the rescue's record and files.
STAT_EVACUATION = 'rescue_lm_ends_rescue_on_evacuation'

#: The extra spec asking ComputeCapabilitiesFilter for that key.
STAT_EVACUATION_EXTRA_SPEC = 'capabilities:stats:' + STAT_EVACUATION


def option_refusal(conf):
    """Why ``[rescue_lm] live_migrate_rescued`` keeps the capability off, or
    None: what every driver of the package reports first.
    """
    if not conf.rescue_lm.live_migrate_rescued:
        return _('[rescue_lm] live_migrate_rescued is False')
    return None


def stats_marker(capable, reason=None, evacuation=False):
    """The ``stats`` entries a driver of this package reports: the marker,
    why the capability is off when the driver knows, and whether it takes
    evacuated rescued servers.
    """
    stats = {STAT: str(bool(capable))}
    if reason and not capable:
        stats[STAT_REASON] = reason
    if capable and evacuation:
        stats[STAT_EVACUATION] = 'True'
    return stats


def unproven(traits, stats):
    """Why a node with these traits and stats is not capable, or None."""
    if TRAIT not in traits:
        return _('it does not report the %s trait') % TRAIT
    if (stats or {}).get(STAT) != 'True':
        return _('its %s trait is stale: it runs no nova-rescue-lm driver '
                 'with the capability now') % TRAIT
    return None


def unproven_for_evacuation(traits, stats):
    """Why a node cannot take an evacuated rescued server, or None."""
    why = unproven(traits, stats)
    if why is None and (stats or {}).get(STAT_EVACUATION) != 'True':
        why = _('its driver does not end a rescue when it rebuilds an '
                'evacuated server: a nova-rescue-lm release before 0.2, or '
                'the XenAPI driver, which cannot evacuate')
    return why
