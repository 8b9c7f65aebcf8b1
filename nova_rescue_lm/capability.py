"""The driver capability and the placement trait that advertises it.

The API reads the trait (not the service version) from placement, so a
rolling upgrade gets an exact, per-node answer.
"""

#: Driver capability flag named by the nova-spec.
CAPABILITY = 'supports_live_migrate_rescued'

#: Placement trait reported by computes whose driver has the capability.
TRAIT = 'CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED'

#: ``ComputeNode.stats`` key the drivers refresh on every resource update
#: ('True' or 'False'); a trait without it is stale.
STAT = 'rescue_lm_live_migrate_rescued'
