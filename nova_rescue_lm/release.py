"""The nova release this package is built against, checked at load time.

Everything in this package that relies on nova internals beyond the public
driver and controller interfaces (the max microversion, the decorator stack of
``compute.API.live_migrate``) is verified against the installed nova before it
is used, and refuses to load otherwise (fail closed).
"""

from importlib import metadata

from nova_rescue_lm import exception

SUPPORTED_NOVA_RELEASE = '34.0.0'


def installed_nova_release():
    try:
        return metadata.version('nova')
    except metadata.PackageNotFoundError:
        return None


def refuse(reason):
    """Raise the error a deployer sees when nova-api refuses to start."""
    raise exception.UnsupportedNovaRelease(
        "nova-rescue-lm cannot run with the installed nova: %s. It is built "
        "for nova %s (OpenStack 2026.2). Install the nova-rescue-lm release "
        "made for your nova, or, to run without it, point api-paste.ini back "
        "at nova's own factories (nova.api.openstack.compute:APIRouterV21, "
        "nova.api.openstack.compute.versions:Versions and VersionsV2)."
        % (reason, SUPPORTED_NOVA_RELEASE))


def check_nova_release():
    found = installed_nova_release()
    if found != SUPPORTED_NOVA_RELEASE:
        refuse('found nova %s' % (found or '(not installed)'))
