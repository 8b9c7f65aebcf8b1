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

"""Glance images into XAPI disks, over XAPI's HTTP import (no dom0 plugin).

Raw and VHD images are supported; XAPI's ``/import_raw_vdi`` takes both.
The image is downloaded to a temporary file first, so that its size (and a
VHD's virtual size) is known before the disk is created.
"""

import os
import struct
import tempfile

from nova import exception
from nova.image import glance
from nova import objects
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import units

from nova_rescue_lm.i18n import _

LOG = logging.getLogger(__name__)

FORMATS = {'raw': 'raw', 'vhd': 'vhd'}

_VHD_FOOTER = 512
_VHD_COOKIE = b'conectix'


def vhd_virtual_size(path):
    """The disk size a VHD file describes (its footer's current size)."""
    with open(path, 'rb') as f:
        f.seek(0, os.SEEK_END)
        if f.tell() < _VHD_FOOTER:
            return None
        f.seek(-_VHD_FOOTER, os.SEEK_END)
        footer = f.read(_VHD_FOOTER)
    if not footer.startswith(_VHD_COOKIE):
        return None
    return struct.unpack('>Q', footer[48:56])[0]


def round_up(size, unit=units.Mi):
    return -(-size // unit) * unit


class ImageOps:

    def __init__(self, session):
        self._session = session
        self._glance = glance.API()

    def image_meta(self, context, image_id):
        return objects.ImageMeta.from_image_ref(context, self._glance,
                                                image_id)

    def create_vdi(self, sr_ref, name, size, tags, description=''):
        return self._session.call('VDI.create', {
            'name_label': name,
            'name_description': description,
            'SR': sr_ref,
            'virtual_size': str(round_up(size)),
            'type': 'user',
            'sharable': False,
            'read_only': False,
            'other_config': tags,
            'xenstore_data': {},
            'sm_config': {},
            'tags': [],
        })

    def import_image(self, context, image_meta, sr_ref, name, tags,
                     min_size=0):
        """A new VDI holding the image, at least ``min_size`` bytes big."""
        image_id = image_meta.id
        fmt = FORMATS.get(image_meta.disk_format
                          if 'disk_format' in image_meta else None)
        if fmt is None:
            raise exception.ImageUnacceptable(
                image_id=image_id, reason=_(
                    'the XenAPI driver boots raw and vhd images only, not '
                    '%s') % (image_meta.disk_format
                             if 'disk_format' in image_meta else None))
        with tempfile.TemporaryDirectory(prefix='rescue-lm-') as tmp:
            path = os.path.join(tmp, 'image')
            self._glance.download(context, image_id, dest_path=path)
            length = os.path.getsize(path)
            if fmt == 'vhd':
                virtual = vhd_virtual_size(path)
                if virtual is None:
                    raise exception.ImageUnacceptable(
                        image_id=image_id,
                        reason=_('its data is not a VHD file'))
            else:
                virtual = length
            if min_size and virtual > min_size:
                raise exception.FlavorDiskSmallerThanImage(
                    flavor_size=min_size, image_size=virtual)
            size = max(virtual, min_size, units.Mi)
            vdi = self.create_vdi(sr_ref, name, size, tags,
                                  description='image %s' % image_id)
            try:
                with open(path, 'rb') as f:
                    self._session.put_vdi(vdi, f, length, fmt)
            except Exception:
                with excutils.save_and_reraise_exception():
                    self._session.call('VDI.destroy', vdi)
        LOG.debug('Imported image %(image)s (%(fmt)s, %(length)d bytes) '
                  'into VDI %(vdi)s', {'image': image_id, 'fmt': fmt,
                                       'length': length, 'vdi': vdi})
        return vdi
