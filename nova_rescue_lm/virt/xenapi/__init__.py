from nova_rescue_lm.virt.xenapi.driver import XenAPIDriver  # noqa: F401
