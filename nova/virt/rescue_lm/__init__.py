"""Shim that lets nova load nova-rescue-lm's drivers.

nova imports ``compute_driver`` only from under ``nova.virt``, so
``compute_driver = rescue_lm.libvirt.LibvirtDriver`` resolves here. This
directory is the only thing nova-rescue-lm installs inside nova's package.
"""
