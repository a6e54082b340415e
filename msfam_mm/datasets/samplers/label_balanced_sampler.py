"""Sampler that draws every target label equally often.

The Semantic Constraint classifier (Section 3.5) is trained on visible
images (1, 0), infrared images (0, 1) and fused images (1, 1). The fused
examples come from two sources (on-the-fly rule fusions of every pair and
the published fusions of the TNO pairs), so with a plain shuffle they are
55 % of the training data and each per-label prior is 78 % positive. A
classifier that answers (1, 1) for everything then already reaches 75 %
per-label accuracy, and that is where short trainings stall. Balancing the
three targets makes the constant answer cost as much on the sources as it
gains on the fused images.

The published fusions exist for TNO only, so two thirds of the fused
examples are TNO scenes against a sixth of the visible and infrared ones:
"looks like TNO" would predict "fused". ``match_scene_sets`` removes that
shortcut by giving every label the same mix of data sets.
"""
import math
from collections import Counter, defaultdict
from typing import Dict, Iterator, List, Optional, Sequence, Sized, Tuple

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from msfam_mm.registry import DATA_SAMPLERS

__all__ = ['LabelBalancedSampler', 'sample_keys', 'balanced_weights']


def sample_keys(dataset, index: int) -> Tuple[Tuple[float, ...], str]:
    """``(gt_label, scene_set)`` of sample ``index``, without its image."""
    info = dataset.get_data_info(index)
    label = info.get('gt_label') if isinstance(info, dict) else None
    if label is None:
        raise ValueError(
            f'LabelBalancedSampler: sample {index} of '
            f'{type(dataset).__name__} has no gt_label (set the label '
            'argument of every dataset it holds)')
    return tuple(float(x) for x in label), str(info.get('scene_set', ''))


def balanced_weights(labels: Sequence[tuple],
                     scene_sets: Optional[Sequence[str]] = None
                     ) -> Tuple[torch.Tensor, Dict[tuple, int]]:
    """Sampling weights that make labels (and scene sets) balanced.

    Without ``scene_sets``: ``1 / count(label)``. With them, every label
    gets the same mix of scene sets, the mean over labels of each label's
    own mix (renormalised over the sets a label has):
    ``p(set) / count(label, set)``. Weights sum to 1 per label.

    Returns the (N,) float64 weights and the counts per label.

    Example:
        >>> w, counts = balanced_weights([(1, 0), (1, 0), (0, 1)])
        >>> w.tolist(), counts[(0, 1)]
        ([0.5, 0.5, 1.0], 1)
        >>> w, _ = balanced_weights([(1,), (1,), (0,), (0,), (0,)],
        ...                         ['a', 'b', 'a', 'a', 'b'])
        >>> # mix: 'a' (1/2 + 2/3) / 2 = 7/12 for both labels
        >>> [round(x, 3) for x in w.tolist()]
        [0.583, 0.417, 0.292, 0.292, 0.417]
    """
    labels = [tuple(lbl) for lbl in labels]
    counts = Counter(labels)
    if scene_sets is None:
        weights = [1.0 / counts[lbl] for lbl in labels]
    else:
        scene_sets = list(scene_sets)
        if len(scene_sets) != len(labels):
            raise ValueError('balanced_weights: one scene set per label '
                             f'needed, got {len(scene_sets)} for '
                             f'{len(labels)}')
        pair_counts = Counter(zip(labels, scene_sets))
        mix: Dict[str, float] = defaultdict(float)
        for (lbl, scene), n in pair_counts.items():
            mix[scene] += n / counts[lbl] / len(counts)
        norm = {lbl: sum(mix[s] for (l2, s) in pair_counts if l2 == lbl)
                for lbl in counts}
        weights = [mix[s] / norm[lbl] / pair_counts[(lbl, s)]
                   for lbl, s in zip(labels, scene_sets)]
    return torch.tensor(weights, dtype=torch.float64), dict(counts)


@DATA_SAMPLERS.register_module()
class LabelBalancedSampler(Sampler):
    """Weighted sampling with replacement, equal total weight per label.

    Each epoch yields ``len(dataset)`` indices (split over the distributed
    ranks); every distinct ``gt_label`` is drawn equally often in
    expectation. The draw depends only on ``seed`` and the epoch
    (``set_epoch``), so runs and resumed runs see the same sequence. Works
    with mmengine's epoch-based and iteration-based loops (the latter
    re-iterates the dataloader and calls ``set_epoch``).

    Args:
        dataset: a dataset whose ``get_data_info(i)`` carries ``gt_label``
            (``SingleBandImageDataset``, ``PairedFusionDataset``,
            ``PublishedFusionDataset``, or a ``ConcatDataset`` of them).
        seed: random seed; None draws one shared by all ranks.
        match_scene_sets: also give every label the same mix of data sets
            (the ``scene_set`` of each sample, e.g. ``'tno42'``,
            ``'roadscene221'``; see :func:`balanced_weights`).

    Example:
        >>> sampler = dict(type='LabelBalancedSampler', seed=0,
        ...                match_scene_sets=True)
    """

    def __init__(self, dataset: Sized, seed: Optional[int] = None,
                 match_scene_sets: bool = False) -> None:
        rank, world_size = get_dist_info()
        self.rank, self.world_size = rank, world_size
        self.dataset = dataset
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.epoch = 0
        n = len(dataset)
        if n == 0:
            raise ValueError('LabelBalancedSampler: the dataset is empty')
        keys: List[tuple] = [sample_keys(dataset, i) for i in range(n)]
        labels = [k[0] for k in keys]
        scenes = [k[1] for k in keys] if match_scene_sets else None
        self.weights, self.label_counts = balanced_weights(labels, scenes)
        self.num_samples = math.ceil(n / world_size)
        self.total_size = self.num_samples * world_size

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        indices = torch.multinomial(self.weights, self.total_size,
                                    replacement=True, generator=g).tolist()
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Change the draw for each epoch (called by mmengine's loops)."""
        self.epoch = epoch
