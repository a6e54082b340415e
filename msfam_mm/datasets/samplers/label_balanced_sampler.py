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
"""
import math
from collections import Counter
from typing import Dict, Iterator, Optional, Sized, Tuple

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from msfam_mm.registry import DATA_SAMPLERS

__all__ = ['LabelBalancedSampler', 'label_of', 'balanced_weights']


def label_of(dataset, index: int) -> Tuple[float, ...]:
    """The ``gt_label`` of sample ``index`` without loading its image."""
    info = dataset.get_data_info(index)
    label = info.get('gt_label') if isinstance(info, dict) else None
    if label is None:
        raise ValueError(
            f'LabelBalancedSampler: sample {index} of '
            f'{type(dataset).__name__} has no gt_label (set the label '
            'argument of every dataset it holds)')
    return tuple(float(x) for x in label)


def balanced_weights(labels) -> Tuple[torch.Tensor, Dict[tuple, int]]:
    """Per-sample weights ``1 / (count of its label)`` and the counts.

    Example:
        >>> w, counts = balanced_weights([(1, 0), (1, 0), (0, 1)])
        >>> w.tolist(), counts[(0, 1)]
        ([0.5, 0.5, 1.0], 1)
    """
    labels = [tuple(lbl) for lbl in labels]
    counts = Counter(labels)
    weights = torch.tensor([1.0 / counts[lbl] for lbl in labels],
                           dtype=torch.float64)
    return weights, dict(counts)


@DATA_SAMPLERS.register_module()
class LabelBalancedSampler(Sampler):
    """Weighted sampling with replacement, equal total weight per label.

    Each epoch yields ``len(dataset)`` indices (split over the distributed
    ranks); a sample's probability is ``1 / (n_labels * count(label))``, so
    every distinct ``gt_label`` is drawn equally often in expectation. The
    draw depends only on ``seed`` and the epoch (``set_epoch``), so runs
    and resumed runs see the same sequence. Works with mmengine's
    epoch-based and iteration-based loops (the latter re-iterates the
    dataloader and calls ``set_epoch``).

    Args:
        dataset: a dataset whose ``get_data_info(i)`` carries ``gt_label``
            (``SingleBandImageDataset``, ``PairedFusionDataset``,
            ``PublishedFusionDataset``, or a ``ConcatDataset`` of them).
        seed: random seed; None draws one shared by all ranks.

    Example:
        >>> sampler = dict(type='LabelBalancedSampler', seed=0)
    """

    def __init__(self, dataset: Sized, seed: Optional[int] = None) -> None:
        rank, world_size = get_dist_info()
        self.rank, self.world_size = rank, world_size
        self.dataset = dataset
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.epoch = 0
        n = len(dataset)
        if n == 0:
            raise ValueError('LabelBalancedSampler: the dataset is empty')
        self.weights, self.label_counts = balanced_weights(
            label_of(dataset, i) for i in range(n))
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
