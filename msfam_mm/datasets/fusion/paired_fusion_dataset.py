"""Aligned visible/infrared pairs: stage-2 fusion training and testing."""
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from msfam_mm.registry import DATASETS
from msfam_mm.utils.image_io import IMAGE_EXTENSIONS
from .file_lists import (as_dir_list, match_pairs_by_stem, read_list_file,
                         scene_set_of)

__all__ = ['PairedFusionDataset']


@DATASETS.register_module()
class PairedFusionDataset(BaseDataset):
    """Aligned visible/infrared image pairs.

    Section 4.1: stage 2 uses the 273 TNO + RoadScene pairs, 90 % for
    training and 10 % for testing; the split lives in list files
    (``data/splits/tno_roadscene_{train,test}.txt``, one
    ``<visible> <infrared>`` pair per line, relative to ``data_root``; see
    ``tools/make_split.py``). Alternatively pairs are matched by file stem
    between ``vis_dirs[i]`` and ``ir_dirs[i]``.

    Each sample carries ``vis_path``, ``ir_path`` and ``img_path`` (= the
    visible path, the name used for outputs and metrics).

    Args:
        data_root: root of the list file's paths and of the folders.
        ann_file: pair list file (relative to ``data_root``).
        vis_dirs / ir_dirs: folder(s) of visible / infrared images, paired
            index by index and matched by stem.
        label: optional multi-label target attached as ``gt_label`` (used
            when pairs are fused on the fly for the classifier: ``(1, 1)``).
        suffixes: file suffixes taken from folders.
        **kwargs: ``pipeline``, ``test_mode``, ... of ``BaseDataset``.

    Raises:
        FileNotFoundError: a listed file or a stem counterpart is missing
            (the message names it).

    Example:
        >>> ds = PairedFusionDataset(
        ...     data_root='data/',
        ...     ann_file='splits/tno_roadscene_test.txt',
        ...     pipeline=[dict(type='LoadGreyImage', keys=('vis', 'ir')),
        ...               dict(type='PackFusionInputs', keys=('vis', 'ir'))])
    """

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = '',
                 vis_dirs: Union[str, Sequence[str], None] = None,
                 ir_dirs: Union[str, Sequence[str], None] = None,
                 label: Optional[Sequence[float]] = None,
                 suffixes: Sequence[str] = IMAGE_EXTENSIONS,
                 **kwargs) -> None:
        self.vis_dirs = as_dir_list(vis_dirs)
        self.ir_dirs = as_dir_list(ir_dirs)
        if len(self.vis_dirs) != len(self.ir_dirs):
            raise ValueError(f'PairedFusionDataset: vis_dirs '
                             f'({len(self.vis_dirs)}) and ir_dirs '
                             f'({len(self.ir_dirs)}) must pair up one to one')
        if not self.vis_dirs and not ann_file:
            raise ValueError('PairedFusionDataset: give ann_file and/or '
                             'vis_dirs + ir_dirs')
        self.label = None if label is None else [float(x) for x in label]
        self.suffixes = tuple(suffixes)
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=dict(), **kwargs)

    def _root(self, folder: str) -> str:
        return folder if osp.isabs(folder) or not self.data_root else \
            osp.join(self.data_root, folder)

    def load_data_list(self) -> List[dict]:
        pairs = []
        for vis_dir, ir_dir in zip(self.vis_dirs, self.ir_dirs):
            pairs.extend(
                match_pairs_by_stem(self._root(vis_dir), self._root(ir_dir),
                                    self.suffixes))
        if self.ann_file:
            pairs.extend(
                read_list_file(self.ann_file, self.data_root, columns=2))
        data_list = []
        for vis_path, ir_path in pairs:
            info = dict(img_path=vis_path, vis_path=vis_path, ir_path=ir_path,
                        scene_set=scene_set_of(vis_path, self.data_root))
            if self.label is not None:
                info['gt_label'] = list(self.label)
            data_list.append(info)
        return data_list
