"""Where KAIST's files lie in the official folder layout (Hwang et al.,
CVPR 2015)::

    data_root/images/setXX/VYYY/{visible,lwir,<fused>}/IZZZZZ.{jpg,png}
    data_root/annotations/setXX/VYYY/IZZZZZ.txt     (bbGt v3 text)
    data_root/imageSets/<list>.txt                  (setXX/VYYY/IZZZZZ)

The one place that builds these paths: the detection dataset
(:class:`msfam_mm.detection.KAISTDataset`), the COCO conversion, the
miss-rate protocol, the toy generator and batch fusion
(``msfam_mm.batch_fusion``, which writes fused frames in the same layout)
all go through :func:`kaist_image_path` and :func:`kaist_annotation_path`.
"""
import os
import os.path as osp
from typing import Sequence, Tuple, Union

from msfam_mm.utils.image_io import IMAGE_EXTENSIONS
from .frame_ids import normalize_frame_id

#: KAIST's frame size (W, H).
KAIST_IMAGE_SIZE = (640, 512)
#: Extensions tried, in order, for each frame: every image extension, JPEG
#: first (KAIST ships JPEG; public derivatives and msfam_mm's fused folders
#: use PNG). A frame stored in two formats is read from the first.
KAIST_IMAGE_EXTS = ('.jpg', ) + tuple(e for e in IMAGE_EXTENSIONS
                                      if e != '.jpg')
#: the two source bands of a KAIST frame
VISIBLE, LWIR = 'visible', 'lwir'


def _folders_and_name(frame: str) -> Tuple[str, str, str]:
    """``('setXX', 'VYYY', 'IZZZZZ')`` of a frame id (canonical form)."""
    set_dir, video_dir, name = normalize_frame_id(frame).split('/')
    return set_dir, video_dir, name


def kaist_image_path(data_root: Union[str, os.PathLike], frame: str,
                     modality: str, ext: str = '',
                     img_subdir: str = 'images') -> str:
    """Where a frame's image of one modality lies:
    ``data_root/img_subdir/setXX/VYYY/<modality>/IZZZZZ<ext>``.

    ``ext`` (with its dot) is appended as given; ``''`` gives the path
    without extension. ``data_root=''`` gives the path relative to the
    root.

    Example:
        >>> kaist_image_path('data/kaist', 'set06_V000_I00019', 'lwir', '.jpg')
        'data/kaist/images/set06/V000/lwir/I00019.jpg'
        >>> kaist_image_path('', 'set06/V000/I00019', 'fused', '.png')
        'images/set06/V000/fused/I00019.png'
    """
    set_dir, video_dir, name = _folders_and_name(frame)
    return osp.join(os.fspath(data_root), img_subdir, set_dir, video_dir,
                    modality, name + ext)


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
    stem = kaist_image_path(data_root, frame, modality, img_subdir=img_subdir)
    for ext in exts:
        if osp.isfile(stem + ext):
            return stem + ext
    raise FileNotFoundError(
        f'KAIST image {stem}.{{{",".join(e.lstrip(".") for e in exts)}}} '
        f'does not exist (frame {frame}, modality {modality!r})')


def kaist_annotation_path(data_root: Union[str, os.PathLike], frame: str,
                          ann_subdir: str = 'annotations') -> str:
    """Path of a frame's bbGt annotation file.

    Example:
        >>> kaist_annotation_path('data/kaist', 'set06/V000/I00019')
        'data/kaist/annotations/set06/V000/I00019.txt'
    """
    set_dir, video_dir, name = _folders_and_name(frame)
    return osp.join(os.fspath(data_root), ann_subdir, set_dir, video_dir,
                    name + '.txt')
