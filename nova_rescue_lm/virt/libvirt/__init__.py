from nova_rescue_lm.virt.libvirt.driver import LibvirtDriver  # noqa: F401
