"""The installed nova's release, for messages only.

Whether the package can run is decided by the shape of what it relies on
(:mod:`nova_rescue_lm.nova_shape`), never by this version string: every nova
34.x, including builds from stable-branch sources, is expected to work.
"""

from importlib import metadata


def installed_nova_release():
    try:
        return metadata.version('nova')
    except metadata.PackageNotFoundError:
        return None
