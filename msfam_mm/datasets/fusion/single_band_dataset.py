"""Single-band image dataset: stage-1 reconstruction and classifier inputs."""
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from msfam_mm.registry import DATASETS
from msfam_mm.utils.image_io import IMAGE_EXTENSIONS
from .file_lists import (as_dir_list, read_list_file, scan_images,
                         scene_set_of)

__all__ = ['SingleBandImageDataset']


@DATASETS.register_module()
class SingleBandImageDataset(BaseDataset):
    """Single visible (greyed) or infrared images from folders or a list file.

    Stage 1 (Section 3.3, Eq. 1) reconstructs single images of either band;
    the Semantic Constraint classifier (Section 3.5) is trained on single
    images with a fixed multi-label target per source, given by ``label``.

    Args:
        data_root: root that ``img_dirs`` and the list file's paths are
            relative to.
        img_dirs: folder(s) whose images (by ``suffixes``) are all used.
        ann_file: a list file (see ``file_lists``); every path of a line is
            used, or only the ``column``-th one (0 = visible, 1 = infrared
            in the pair lists of ``data/splits``).
        column: which path of each list-file line to use (None: all).
        label: optional multi-label target attached to every sample as
            ``gt_label``, e.g. ``(1, 0)`` for visible images.
        suffixes: file suffixes taken from folders.
        **kwargs: ``pipeline``, ``test_mode``, ... of ``BaseDataset``.

    Example:
        >>> ds = SingleBandImageDataset(
        ...     data_root='data/', img_dirs=['tno42/vi', 'tno42/ir'],
        ...     pipeline=[dict(type='LoadGreyImage', keys=('img',)),
        ...               dict(type='PackFusionInputs', keys=('img',))])
        >>> len(ds)
        84
    """

    def __init__(self,
                 data_root: str = '',
                 img_dirs: Union[str, Sequence[str], None] = None,
                 ann_file: str = '',
                 column: Optional[int] = None,
                 label: Optional[Sequence[float]] = None,
                 suffixes: Sequence[str] = IMAGE_EXTENSIONS,
                 **kwargs) -> None:
        self.img_dirs = as_dir_list(img_dirs)
        if not self.img_dirs and not ann_file:
            raise ValueError('SingleBandImageDataset: give img_dirs and/or '
                             'ann_file')
        self.column = column
        self.label = None if label is None else [float(x) for x in label]
        self.suffixes = tuple(suffixes)
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=dict(), **kwargs)

    def load_data_list(self) -> List[dict]:
        paths: List[str] = []
        for folder in self.img_dirs:
            folder = folder if osp.isabs(folder) or not self.data_root else \
                osp.join(self.data_root, folder)
            paths.extend(scan_images(folder, self.suffixes))
        if self.ann_file:
            for lineno, entry in enumerate(
                    read_list_file(self.ann_file, self.data_root), 1):
                if self.column is None:
                    paths.extend(entry)
                elif not -len(entry) <= self.column < len(entry):
                    raise ValueError(
                        f'{self.ann_file}: entry {lineno} has {len(entry)} '
                        f'paths, column={self.column} is out of range')
                else:
                    paths.append(entry[self.column])
        data_list = []
        for path in paths:
            info = dict(img_path=path,
                        scene_set=scene_set_of(path, self.data_root))
            if self.label is not None:
                info['gt_label'] = list(self.label)
            data_list.append(info)
        return data_list
