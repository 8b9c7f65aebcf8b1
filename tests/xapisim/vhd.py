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

"""Read (and, for tests, write) fixed and dynamic VHD images.

XAPI's ``/import_raw_vdi?format=vhd`` takes a VHD stream and writes its
virtual disk into the VDI. The simulator does the same with this parser;
differencing VHDs (which need a parent) are refused, as an import into a
bare VDI cannot resolve their parent either.

Layout (Microsoft "Virtual Hard Disk Image Format Specification"): a 512
byte footer at the end (and, for dynamic disks, a copy at the start), then
for dynamic disks a 1024 byte header pointing at the block allocation table
(BAT): one big-endian sector number per block, 0xFFFFFFFF when the block
is absent; each present block is a sector bitmap followed by the block.
"""

import struct
import uuid

SECTOR = 512
FOOTER_COOKIE = b'conectix'
HEADER_COOKIE = b'cxsparse'
FIXED = 2
DYNAMIC = 3
DIFFERENCING = 4
UNUSED = 0xFFFFFFFF
NO_OFFSET = 0xFFFFFFFFFFFFFFFF


class VHDError(ValueError):
    """The stream is not a VHD the importer can use."""


def _checksum(block, skip_at, skip_len=4):
    total = sum(block[:skip_at]) + sum(block[skip_at + skip_len:])
    return (~total) & 0xFFFFFFFF


def _footer(raw):
    if len(raw) != SECTOR or raw[:8] != FOOTER_COOKIE:
        raise VHDError('no VHD footer (cookie "conectix" not found)')
    (data_offset,) = struct.unpack('>Q', raw[16:24])
    (current_size,) = struct.unpack('>Q', raw[48:56])
    (disk_type, checksum) = struct.unpack('>II', raw[60:68])
    if _checksum(raw, 64) != checksum:
        raise VHDError('bad VHD footer checksum')
    return data_offset, current_size, disk_type


def parse(data):
    """Return ``(virtual_size, [(offset, bytes), ...])`` for a VHD image.

    Only the allocated parts are returned; everything else reads as zeros.
    """
    data = memoryview(data)
    if len(data) < SECTOR:
        raise VHDError('too short for a VHD (%d bytes)' % len(data))
    data_offset, size, disk_type = _footer(bytes(data[-SECTOR:]))
    if disk_type == FIXED:
        if len(data) - SECTOR != size:
            raise VHDError('fixed VHD: %d data bytes for a %d byte disk'
                           % (len(data) - SECTOR, size))
        return size, [(0, bytes(data[:size]))]
    if disk_type == DIFFERENCING:
        raise VHDError('differencing VHDs need their parent; not supported')
    if disk_type != DYNAMIC:
        raise VHDError('unknown VHD disk type %d' % disk_type)
    if bytes(data[:SECTOR]) != bytes(data[-SECTOR:]):
        raise VHDError('dynamic VHD: header copy of the footer differs')
    header = bytes(data[data_offset:data_offset + 1024])
    if len(header) != 1024 or header[:8] != HEADER_COOKIE:
        raise VHDError('dynamic VHD: no header (cookie "cxsparse")')
    (table_offset,) = struct.unpack('>Q', header[16:24])
    (max_entries, block_size, checksum) = struct.unpack('>III',
                                                        header[28:40])
    if _checksum(header, 36) != checksum:
        raise VHDError('bad VHD dynamic header checksum')
    if block_size == 0 or block_size % SECTOR:
        raise VHDError('bad VHD block size %d' % block_size)
    if max_entries * block_size < size:
        raise VHDError('VHD BAT too small for the disk size')
    bat = bytes(data[table_offset:table_offset + 4 * max_entries])
    if len(bat) != 4 * max_entries:
        raise VHDError('VHD block allocation table truncated')
    sectors_per_block = block_size // SECTOR
    bitmap_len = _bitmap_len(sectors_per_block)
    chunks = []
    for index, (sector,) in enumerate(struct.iter_unpack('>I', bat)):
        if sector == UNUSED:
            continue
        start = sector * SECTOR
        bitmap = bytes(data[start:start + bitmap_len])
        block = bytes(data[start + bitmap_len:
                           start + bitmap_len + block_size])
        if len(block) != block_size or len(bitmap) != bitmap_len:
            raise VHDError('VHD block %d truncated' % index)
        base = index * block_size
        run_start = None
        for s in range(sectors_per_block + 1):
            present = (s < sectors_per_block
                       and bitmap[s // 8] & (0x80 >> (s % 8)))
            if present and run_start is None:
                run_start = s
            elif not present and run_start is not None:
                offset = base + run_start * SECTOR
                piece = block[run_start * SECTOR:s * SECTOR]
                piece = piece[:max(0, size - offset)]
                if piece:
                    chunks.append((offset, piece))
                run_start = None
    return size, chunks


def _bitmap_len(sectors_per_block):
    """A block's sector bitmap: one bit a sector, padded to a sector."""
    nbytes = -(-sectors_per_block // 8)
    return -(-nbytes // SECTOR) * SECTOR


def _make_footer(size, disk_type, data_offset):
    cylinders, heads, spt = _geometry(size)
    footer = bytearray(SECTOR)
    footer[0:8] = FOOTER_COOKIE
    struct.pack_into('>II', footer, 8, 2, 0x00010000)
    struct.pack_into('>Q', footer, 16, data_offset)
    footer[28:32] = b'xsim'
    struct.pack_into('>I', footer, 32, 0x00010000)
    footer[36:40] = b'Wi2k'
    struct.pack_into('>QQ', footer, 40, size, size)
    struct.pack_into('>HBB', footer, 56, cylinders, heads, spt)
    struct.pack_into('>I', footer, 60, disk_type)
    footer[68:84] = uuid.uuid4().bytes
    struct.pack_into('>I', footer, 64, _checksum(footer, 64))
    return bytes(footer)


def _geometry(size):
    """CHS geometry as the VHD specification computes it."""
    sectors = min(size // SECTOR, 65535 * 16 * 255)
    if sectors >= 65535 * 16 * 63:
        spt, heads = 255, 16
        cyl_heads = sectors // spt
    else:
        spt = 17
        cyl_heads = sectors // spt
        heads = max((cyl_heads + 1023) // 1024, 4)
        if cyl_heads >= heads * 1024 or heads > 16:
            spt, heads = 31, 16
            cyl_heads = sectors // spt
        if cyl_heads >= heads * 1024:
            spt, heads = 63, 16
            cyl_heads = sectors // spt
    return min(cyl_heads // heads, 65535), heads, spt


def make_fixed(data, size=None):
    """A fixed VHD of ``size`` bytes (a multiple of 512) holding ``data``."""
    size = len(data) if size is None else size
    if size % SECTOR or len(data) > size:
        raise ValueError('size must be a multiple of 512 and hold the data')
    body = bytes(data) + b'\0' * (size - len(data))
    return body + _make_footer(size, FIXED, NO_OFFSET)


def make_dynamic(data, size=None, block_size=2 * 1024 * 1024):
    """A dynamic VHD holding ``data`` from offset 0; all-zero blocks are
    left unallocated, as real tools do.
    """
    size = len(data) if size is None else size
    if size % SECTOR or len(data) > size:
        raise ValueError('size must be a multiple of 512 and hold the data')
    entries = -(-size // block_size)
    footer = _make_footer(size, DYNAMIC, SECTOR)
    table_offset = 3 * SECTOR
    bat_len = -(-(4 * entries) // SECTOR) * SECTOR
    header = bytearray(1024)
    header[0:8] = HEADER_COOKIE
    struct.pack_into('>QQ', header, 8, NO_OFFSET, table_offset)
    struct.pack_into('>III', header, 24, 0x00010000, entries, block_size)
    struct.pack_into('>I', header, 36, _checksum(header, 36))
    bat = bytearray(b'\xff' * bat_len)
    sectors_per_block = block_size // SECTOR
    bitmap_len = _bitmap_len(sectors_per_block)
    blocks = []
    next_sector = (table_offset + bat_len) // SECTOR
    for index in range(entries):
        chunk = bytes(data[index * block_size:(index + 1) * block_size])
        if not chunk.strip(b'\0'):
            continue
        chunk = chunk + b'\0' * (block_size - len(chunk))
        struct.pack_into('>I', bat, 4 * index, next_sector)
        bitmap = bytearray(bitmap_len)
        for s in range(sectors_per_block):
            bitmap[s // 8] |= 0x80 >> (s % 8)
        blocks.append(bytes(bitmap) + chunk)
        next_sector += (bitmap_len + block_size) // SECTOR
    return (footer + bytes(header) + bytes(bat) + b''.join(blocks)
            + footer)
