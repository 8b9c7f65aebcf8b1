"""``compute_driver = rescue_lm.xenapi.XenAPIDriver``."""

from nova_rescue_lm.virt.xenapi import XenAPIDriver  # noqa: F401
