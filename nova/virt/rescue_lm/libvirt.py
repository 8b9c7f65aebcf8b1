"""``compute_driver = rescue_lm.libvirt.LibvirtDriver``."""

from nova_rescue_lm.virt.libvirt import LibvirtDriver  # noqa: F401
