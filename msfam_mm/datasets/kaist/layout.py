"""Where KAIST's files lie in the official folder layout (Hwang et al.,
CVPR 2015)::

    data_root/images/setXX/VYYY/{visible,lwir,<fused>}/IZZZZZ.{jpg,png}
    data_root/annotations/setXX/VYYY/IZZZZZ.txt     (bbGt v3 text)
    data_root/imageSets/<list>.txt                  (setXX/VYYY/IZZZZZ)

Pure Python, shared by the detection dataset
(:class:`msfam_mm.detection.KAISTDataset`) and the fusion tools.
"""
import os.path as osp
from typing import Sequence

from .frame_ids import parse_frame_id

#: KAIST's frame size (W, H).
KAIST_IMAGE_SIZE = (640, 512)
#: Extensions tried, in order, for each frame (KAIST ships JPEG; public
#: derivatives and msfam_mm's fused folders use PNG).
KAIST_IMAGE_EXTS = ('.jpg', '.png', '.jpeg', '.bmp')


def resolve_kaist_image(data_root: str, frame: str, modality: str,
                        img_subdir: str = 'images',
                        exts: Sequence[str] = KAIST_IMAGE_EXTS) -> str:
    """Path of a frame's image in one modality folder, trying ``exts``.

    Raises:
        FileNotFoundError: naming the path (without extension) and the
            extensions tried.

    Example:
        >>> resolve_kaist_image('data/kaist', 'set06/V000/I00019',
        ...                     'lwir')  # doctest: +SKIP
        'data/kaist/images/set06/V000/lwir/I00019.jpg'
    """
    set_no, video, index = parse_frame_id(frame)
    stem = osp.join(data_root, img_subdir, f'set{set_no:02d}',
                    f'V{video:03d}', modality, f'I{index:05d}')
    for ext in exts:
        if osp.isfile(stem + ext):
            return stem + ext
    raise FileNotFoundError(
        f'KAIST image {stem}.{{{",".join(e.lstrip(".") for e in exts)}}} '
        f'does not exist (frame {frame}, modality {modality!r})')


def kaist_annotation_path(data_root: str, frame: str,
                          ann_subdir: str = 'annotations') -> str:
    """Path of a frame's bbGt annotation file.

    Example:
        >>> kaist_annotation_path('data/kaist', 'set06/V000/I00019')
        'data/kaist/annotations/set06/V000/I00019.txt'
    """
    set_no, video, index = parse_frame_id(frame)
    return osp.join(data_root, ann_subdir, f'set{set_no:02d}',
                    f'V{video:03d}', f'I{index:05d}.txt')
