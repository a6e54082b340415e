"""Reading, colour handling and atomic writing of 8-bit images.

The one place that reads and writes images for training, inference, batch
fusion and the metrics. MSFAM fuses grey visible and grey infrared images
(Section 4.5); this module turns whatever the user has (paths, 8-bit
arrays, grey or 3-channel) into that form, and the fused luminance back
into an 8-bit image:

* grey mode: the fused image is the output;
* colour mode: the visible image is split into YCrCb (ITU-R BT.601, the same
  luma as ``cv2.COLOR_BGR2GRAY`` used in training, docs/CONTRACTS.md), its Y
  is fused with the infrared image and its Cr/Cb are re-attached.

Reading refuses truncated JPEG/PNG files (OpenCV would decode them into
grey rows with only a warning). Files are written atomically (temporary
file in the same folder, then ``os.replace``) so that a killed run never
leaves a truncated image.

Example:
    >>> vis = read_image('vis.png')                      # doctest: +SKIP
    >>> y, crcb = split_luma(vis)                        # doctest: +SKIP
    >>> write_image_atomic('out.png', merge_luma(y, crcb))  # doctest: +SKIP
"""
import os
from pathlib import Path
from typing import Optional, Tuple, Union

import cv2
import numpy as np

from .atomic_io import write_bytes_atomic

ImageLike = Union[str, os.PathLike, np.ndarray]

#: file endings read as images everywhere (lower case); the order decides
#: which file wins where one name is stored in two formats
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')


class ImageReadError(ValueError):
    """An input image is missing, unreadable, truncated or of a bad type."""


def _jpeg_end(data: bytes) -> Optional[int]:
    """Offset just past the JPEG's end-of-image marker, ``None`` if the data
    ends before it (ITU T.81, B.1.1).

    Walks the marker segments by their lengths (so an EOI inside an EXIF
    thumbnail does not count) and scans entropy-coded data for the next
    marker (``FF00`` is a stuffed byte, ``FFD0``-``FFD7`` restart markers,
    ``FFFF`` fill).
    """
    n, pos = len(data), 2
    while True:
        pos = data.find(b'\xff', pos)  # libjpeg skips stray bytes too
        if pos < 0:
            return None
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            return None
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            return pos
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:
            continue  # stand-alone markers carry no length
        if pos + 2 > n:
            return None
        length = (data[pos] << 8) | data[pos + 1]
        if length < 2:
            return None
        pos += length
        if marker != 0xDA:
            continue
        while True:  # entropy-coded data after start-of-scan
            k = data.find(b'\xff', pos)
            if k < 0 or k + 1 >= n:
                return None
            nxt = data[k + 1]
            if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
                pos = k + 2
            elif nxt == 0xFF:
                pos = k + 1
            else:
                pos = k
                break


def _png_end(data: bytes) -> Optional[int]:
    """Offset just past the PNG's IEND chunk, ``None`` if the chunk chain
    ends early (PNG spec 5.3: length, type, data, CRC)."""
    n, pos = len(data), 8
    while pos + 8 <= n:
        length = int.from_bytes(data[pos:pos + 4], 'big')
        end = pos + 12 + length
        if end > n:
            return None
        if data[pos + 4:pos + 8] == b'IEND':
            return end
        pos = end
    return None


def _check_complete(data: bytes, path: str) -> None:
    """Reject JPEG/PNG files that end before their end marker.

    OpenCV decodes a truncated JPEG with only a warning (the missing part is
    filled with grey), so decoding alone cannot tell a damaged frame from a
    good one. The file's structure is followed to its real end (JPEG EOI,
    PNG IEND); bytes after it (zero padding, an appended newline) are
    ignored, as decoders ignore them.
    """
    if data[:2] == b'\xff\xd8':
        if _jpeg_end(data) is None:
            raise ImageReadError(
                f'{path}: truncated JPEG (no end-of-image marker)')
    elif data[:8] == b'\x89PNG\r\n\x1a\n':
        if _png_end(data) is None:
            raise ImageReadError(f'{path}: truncated PNG (no IEND chunk)')


def read_image(path: Union[str, os.PathLike]) -> np.ndarray:
    """Read an 8-bit image file as ``(H, W)`` grey or ``(H, W, 3)`` BGR.

    Raises:
        ImageReadError: naming ``path`` when the file is missing, empty,
            truncated, not decodable or not 8-bit.
    """
    path = os.fspath(path)
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        raise ImageReadError(f'{path}: cannot read ({e.strerror})') from None
    if not data:
        raise ImageReadError(f'{path}: empty file')
    _check_complete(data, path)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ImageReadError(f'{path}: not a decodable image')
    return check_image(img, path)


def check_image(img: np.ndarray, name: str = 'image') -> np.ndarray:
    """Validate an 8-bit grey/BGR/BGRA array; BGRA loses its alpha."""
    if not isinstance(img, np.ndarray):
        raise ImageReadError(
            f'{name}: expected a numpy array, got {type(img).__name__}')
    if img.dtype != np.uint8:
        raise ImageReadError(f'{name}: expected 8-bit (uint8) pixels, '
                             f'got {img.dtype} (16-bit and float images are '
                             'not supported; convert them to 8-bit)')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    elif img.ndim == 3 and img.shape[2] == 4:
        img = np.ascontiguousarray(img[:, :, :3])
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)):
        raise ImageReadError(f'{name}: expected shape (H, W) or (H, W, 3), '
                             f'got {img.shape}')
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise ImageReadError(f'{name}: empty image of shape {img.shape}')
    return img


def load_image(img: ImageLike, name: str = 'image') -> np.ndarray:
    """A path or an array -> validated 8-bit array (see :func:`read_image`)."""
    if isinstance(img, (str, os.PathLike)):
        return read_image(img)
    return check_image(img, name)


def to_grey(img: np.ndarray) -> np.ndarray:
    """BT.601 luma of a BGR image (KAIST's 3-channel lwir included)."""
    if img.ndim == 2:
        return img
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def split_luma(img: np.ndarray) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Split into (Y, CrCb); CrCb is ``None`` for a grey image.

    OpenCV's YCrCb Y uses the same BT.601 weights as ``COLOR_BGR2GRAY``, so
    the fused channel is what the network was trained on.
    """
    if img.ndim == 2:
        return img, None
    ycrcb = cv2.cvtColor(img, cv2.COLOR_BGR2YCrCb)
    return np.ascontiguousarray(ycrcb[:, :, 0]), ycrcb[:, :, 1:]


def merge_luma(y: np.ndarray, crcb: Optional[np.ndarray]) -> np.ndarray:
    """Inverse of :func:`split_luma`: fused Y + visible CrCb -> BGR."""
    if crcb is None:
        return y
    if crcb.shape[:2] != y.shape:
        raise ValueError(f'merge_luma: Y has shape {y.shape} but CrCb has '
                         f'{crcb.shape[:2]}')
    ycrcb = np.concatenate([y[:, :, None], crcb], axis=2)
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR)


def encode_image(img: np.ndarray, ext: str = '.png',
                 jpeg_quality: int = 95) -> bytes:
    """Encode an 8-bit image to bytes in the format named by ``ext``."""
    ext = ext.lower() if ext.startswith('.') else '.' + ext.lower()
    params = []
    if ext in ('.jpg', '.jpeg'):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    ok, buf = cv2.imencode(ext, img, params)
    if not ok:
        raise ValueError(f'encode_image: OpenCV cannot encode {ext!r}')
    return buf.tobytes()


def write_image_atomic(path: Union[str, os.PathLike], img: np.ndarray,
                       jpeg_quality: int = 95) -> None:
    """Encode by the file ending of ``path`` and write atomically."""
    write_bytes_atomic(path, encode_image(img, Path(path).suffix,
                                          jpeg_quality))
