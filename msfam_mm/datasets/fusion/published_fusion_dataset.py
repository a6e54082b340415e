"""Fused images of published methods, for the Semantic Constraint classifier.

Section 3.5: the classifier's (1, 1) examples are "the fusion results of some
existing algorithms". ``data/tno42_published_fusions/<Method>/NN.png`` holds
the outputs of 9 published methods on the 42 TNO pairs. To keep the stage-2
test images out of the classifier's training set, only the fusions of the
pairs listed in ``pairs_ann_file`` (a split list) whose visible image lies in
``source_dir`` are used, matched by file stem.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.dataset import BaseDataset

from msfam_mm.registry import DATASETS
from msfam_mm.utils.image_io import IMAGE_EXTENSIONS
from .file_lists import read_list_file, scan_images, scene_set_of

__all__ = ['PublishedFusionDataset']


@DATASETS.register_module()
class PublishedFusionDataset(BaseDataset):
    """Single fused images of published methods, optionally split-filtered.

    Args:
        data_root: root of ``fusion_root``, ``source_dir`` and the paths in
            ``pairs_ann_file``.
        fusion_root: folder with one sub-folder per method.
        methods: method sub-folders to use (default: all sub-folders).
        pairs_ann_file: optional split list; only fusions of its pairs are
            used (every method must then have each of them, else a
            ``FileNotFoundError`` names the missing file).
        source_dir: folder of the visible images the fusions were made from
            (pairs of other folders in the list are ignored).
        label: target attached as ``gt_label`` (``(1, 1)`` for fused).
        **kwargs: ``pipeline``, ``test_mode``, ... of ``BaseDataset``.

    Example:
        >>> ds = PublishedFusionDataset(
        ...     data_root='data/', fusion_root='tno42_published_fusions',
        ...     pairs_ann_file='splits/tno_roadscene_test.txt',
        ...     label=(1, 1))
        >>> len(ds)  # 3 TNO test pairs x 9 methods
        27
    """

    def __init__(self,
                 data_root: str = '',
                 fusion_root: str = 'tno42_published_fusions',
                 methods: Optional[Sequence[str]] = None,
                 pairs_ann_file: str = '',
                 source_dir: str = 'tno42/vi',
                 label: Optional[Sequence[float]] = (1., 1.),
                 suffixes: Sequence[str] = IMAGE_EXTENSIONS,
                 **kwargs) -> None:
        self.fusion_root = fusion_root
        self.methods = None if methods is None else list(methods)
        self.pairs_ann_file = pairs_ann_file
        self.source_dir = source_dir
        self.label = None if label is None else [float(x) for x in label]
        self.suffixes = tuple(suffixes)
        super().__init__(data_root=data_root, data_prefix=dict(), **kwargs)

    def _root(self, path: str) -> str:
        return path if osp.isabs(path) or not self.data_root else \
            osp.join(self.data_root, path)

    def load_data_list(self) -> List[dict]:
        root = self._root(self.fusion_root)
        if not osp.isdir(root):
            raise FileNotFoundError(f'PublishedFusionDataset: fusion folder '
                                    f'{root!r} does not exist')
        methods = self.methods if self.methods is not None else sorted(
            d for d in os.listdir(root)
            if osp.isdir(osp.join(root, d)))
        if not methods:
            raise ValueError(f'PublishedFusionDataset: no method folders in '
                             f'{root!r}')
        stems = None
        if self.pairs_ann_file:
            ann = self.pairs_ann_file if osp.isabs(self.pairs_ann_file) \
                else self._root(self.pairs_ann_file)
            # real paths: the list may name files absolutely or via links
            source = osp.realpath(self._root(self.source_dir))
            stems = sorted(
                osp.splitext(osp.basename(vis))[0]
                for vis, _ in read_list_file(ann, self.data_root, columns=2)
                if osp.realpath(osp.dirname(vis)) == source)
            if not stems:
                raise ValueError(
                    f'PublishedFusionDataset: no pair of {ann!r} has its '
                    f'visible image in {source!r} (source_dir), so there is '
                    'no published fusion to use; leave this dataset out of '
                    'the config for such a split')
        # the data set of the pairs the fusions were made from
        scene_set = scene_set_of(osp.join(self._root(self.source_dir), 'x'),
                                 self.data_root)
        data_list = []
        for method in methods:
            files = scan_images(osp.join(root, method), self.suffixes)
            by_stem = {osp.splitext(osp.basename(f))[0]: f for f in files}
            wanted = sorted(by_stem) if stems is None else stems
            for stem in wanted:
                if stem not in by_stem:
                    raise FileNotFoundError(
                        f'PublishedFusionDataset: {method} has no fusion of '
                        f'pair {stem!r} in {osp.join(root, method)!r}')
                info = dict(img_path=by_stem[stem], method=method,
                            scene_set=scene_set)
                if self.label is not None:
                    info['gt_label'] = list(self.label)
                data_list.append(info)
        return data_list
