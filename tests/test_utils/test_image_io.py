"""msfam_mm.utils.image_io: data after a JPEG/PNG end marker is accepted, a
file cut before it refused."""
import numpy as np
import pytest

from msfam_mm.utils import ImageReadError, read_image


def test_trailing_bytes_after_the_end_marker_are_accepted(tmp_path,
                                                          toy_kaist):
    """Data after a real JPEG EOI / PNG IEND (padding, an appended newline)
    is ignored as decoders ignore it; a file cut before its end marker is
    still refused, whatever follows the cut."""
    root = toy_kaist / 'images'
    jpg = (root / 'set00/V000/visible/I00001.jpg').read_bytes()
    png = (root / 'set00/V000/visible/I00007.png').read_bytes()
    ref_jpg = read_image(root / 'set00/V000/visible/I00001.jpg')
    ref_png = read_image(root / 'set00/V000/visible/I00007.png')
    for name, data, ref in (('nl.jpg', jpg + b'\n', ref_jpg),
                            ('zeros.jpg', jpg + b'\0' * 300, ref_jpg),
                            ('junk.jpg', jpg + b'trailing junk', ref_jpg),
                            ('nl.png', png + b'\n', ref_png),
                            ('junk.png', png + b'\0\0junk', ref_png)):
        (tmp_path / name).write_bytes(data)
        assert np.array_equal(read_image(tmp_path / name), ref), name
    for name, data in (('cut_nl.jpg', jpg[:5000] + b'\n'),
                       ('no_eoi.jpg', jpg[:-2]),
                       ('cut_zeros.jpg', jpg[:-2] + b'\0' * 16),
                       ('cut_nl.png', png[:len(png) // 2] + b'\n'),
                       ('no_crc.png', png[:-4])):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ImageReadError, match=f'{name}: truncated'):
            read_image(tmp_path / name)
