"""Deterministic train/test split of visible/infrared pairs (Section 4.1).

"We fused the TNO data set with the Road Scene data set, which contained a
total of 273 image pairs, and we used 90% for training and 10% for fusion
testing." The folders available to us hold 42 TNO + 221 RoadScene = 263
pairs (the paper's 273 suggests a larger TNO subset); the 90/10 rule gives
237 training and 26 test pairs. The paper does not publish its split;
ours is reproducible: pairs
are matched by stem in each (visible, infrared) folder pair, sorted by
their relative paths, permuted with ``numpy.random.RandomState(seed)`` (a
stream numpy guarantees stable across versions), and the first
``round(test_ratio * N)`` become the test split. Both list files are sorted.
"""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np

from ...utils.atomic_io import write_text_atomic
from .file_lists import match_pairs_by_stem

__all__ = ['make_pair_split', 'write_pair_list']

Pair = Tuple[str, str]


def make_pair_split(data_root: str,
                    folder_pairs: Sequence[Tuple[str, str]],
                    test_ratio: float = 0.1,
                    seed: int = 0) -> Dict[str, List[Pair]]:
    """Split the pairs of ``folder_pairs`` into ``train`` and ``test``.

    Args:
        data_root: root the folders (and the returned paths) are relative to.
        folder_pairs: ``(visible_dir, infrared_dir)`` pairs, relative to
            ``data_root``.
        test_ratio: fraction of pairs in the test split (paper: 0.1).
        seed: permutation seed.

    Returns:
        ``{'train': [...], 'test': [...]}``, each a sorted list of
        ``(visible_path, infrared_path)`` relative to ``data_root`` with '/'
        separators.

    Example:
        >>> split = make_pair_split('data/', [('tno42/vi', 'tno42/ir'),
        ...     ('roadscene221/vi', 'roadscene221/ir')])
        >>> len(split['train']), len(split['test'])
        (237, 26)
    """
    if not 0. < test_ratio < 1.:
        raise ValueError(f'make_pair_split: test_ratio must be in (0, 1), '
                         f'got {test_ratio}')
    if not folder_pairs:
        raise ValueError('make_pair_split: no folder pairs given')
    pairs: List[Pair] = []
    seen_dirs = set()
    for vis_dir, ir_dir in folder_pairs:
        key = tuple(osp.realpath(osp.join(data_root, d))
                    for d in (vis_dir, ir_dir))
        if key[0] == key[1]:
            raise ValueError(f'make_pair_split: visible and infrared folder '
                             f'are the same ({vis_dir!r}, {ir_dir!r})')
        if key in seen_dirs:
            raise ValueError(f'make_pair_split: folder pair {vis_dir!r}:'
                             f'{ir_dir!r} is given twice; its pairs would '
                             'land in train and test alike')
        seen_dirs.add(key)
        for vis, ir in match_pairs_by_stem(osp.join(data_root, vis_dir),
                                           osp.join(data_root, ir_dir)):
            pairs.append(tuple(
                osp.relpath(p, data_root).replace(os.sep, '/')
                for p in (vis, ir)))
    pairs.sort()
    n_test = int(round(test_ratio * len(pairs)))
    if not 0 < n_test < len(pairs):
        raise ValueError(f'make_pair_split: {len(pairs)} pairs cannot be '
                         f'split with test_ratio={test_ratio}')
    order = np.random.RandomState(seed).permutation(len(pairs))
    test = sorted(pairs[i] for i in order[:n_test])
    train = sorted(pairs[i] for i in order[n_test:])
    # the same image file under two names (symlinked folders) would leak
    files = {osp.realpath(osp.join(data_root, p)): p
             for pair in test for p in pair}
    shared = [p for pair in train for p in pair
              if osp.realpath(osp.join(data_root, p)) in files]
    if shared:
        raise ValueError(f'make_pair_split: {len(shared)} image(s) would be '
                         f'in train and test alike, e.g. {shared[0]!r}; give '
                         'each folder once')
    return dict(train=train, test=test)


def write_pair_list(pairs: Sequence[Pair], path: str,
                    header: str = '') -> None:
    """Write ``<visible> <infrared>`` lines atomically (temp file + rename)."""
    for vis, ir in pairs:
        if any(c.isspace() for c in vis + ir):
            raise ValueError(f'write_pair_list: paths with whitespace cannot '
                             f'be listed: {vis!r} {ir!r}')
    lines = [f'# {line}\n' for line in header.splitlines()]
    lines += [f'{vis} {ir}\n' for vis, ir in pairs]
    write_text_atomic(path, ''.join(lines))
