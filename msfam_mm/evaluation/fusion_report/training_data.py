"""Which images a training config feeds its model, read from the config's
own datasets, and which test pairs they include.

The report states, per protocol, what each model saw: the training
dataloader of each config is built (its datasets list their files; no
image is read) and every sample's files are reduced to the key of the pair
they come from (``<data set>/<stem>``, :func:`.protocols.pair_key`). A
published fusion of a TNO pair counts as that pair, a single image of
stage 1 as the pair it belongs to.

Example:
    >>> seen = training_data('configs/cpu/msfam_stage2_cpu.py',
    ...                      '../shared/data')      # doctest: +SKIP
    >>> seen.images_per_set                         # doctest: +SKIP
    {'roadscene221': 400, 'tno42': 74}
"""
import os.path as osp
from collections import Counter, OrderedDict
from typing import Dict, Iterable, NamedTuple, Sequence, Set, Tuple

from .protocols import ReportError

__all__ = ['TrainingData', 'training_data', 'parse_role_config',
           'RECONSTRUCTION_ROLES', 'pairs_seen', 'unseen_pairs']

#: roles whose model only reconstructs single images (Section 3.3): it
#: sees a pair's two sources, never the pair together or a fusion of it
RECONSTRUCTION_ROLES = ('stage1', )
#: sample fields that name a file
_PATH_FIELDS = ('img_path', 'vis_path', 'ir_path')


class TrainingData(NamedTuple):
    """What one training config feeds its model.

    Attributes:
        role: e.g. ``'stage1'``, ``'classifier'``, ``'stage2'``.
        config: the config file.
        files: distinct files of its training samples.
        images_per_set: files per folder below the data root (the
            published fusions have their own).
        keys: pair keys of those files (``tno42/05``).
        iterations, batch, crop: the schedule (``None`` where the config
            has none).
    """
    role: str
    config: str
    files: int
    images_per_set: Dict[str, int]
    keys: Set[str]
    iterations: object
    batch: object
    crop: object


def parse_role_config(spec: str) -> Tuple[str, str]:
    """``'stage2=configs/x.py'`` -> ``('stage2', 'configs/x.py')``.

    Raises:
        ReportError: no ``=``, or the config file does not exist.
    """
    role, sep, path = spec.partition('=')
    if not sep or not role or not path:
        raise ReportError(f'training config {spec!r}: expected ROLE=CONFIG '
                          '(e.g. stage2=configs/cpu/msfam_stage2_cpu.py)')
    if not osp.isfile(path):
        raise ReportError(f'training config {path!r} ({role}) does not '
                          'exist')
    return role, path


def _first_folder(path: str, data_root: str) -> str:
    return osp.relpath(path, data_root).replace(osp.sep, '/').split('/')[0]


def _sample_key(info: dict, data_root: str) -> Tuple[str, Iterable[str]]:
    files = [info[f] for f in _PATH_FIELDS if info.get(f)]
    path = info.get('vis_path') or info['img_path']
    # a published fusion's scene_set is the data set of its source pair
    data_set = info.get('scene_set') or _first_folder(path, data_root)
    stem = osp.splitext(osp.basename(path))[0]
    return f'{data_set}/{stem}', files


def training_data(config: str, data_root: str,
                  role: str = 'train') -> TrainingData:
    """Build ``config``'s training datasets under ``data_root`` and list
    what they hold.

    Raises:
        ReportError: the config has no training dataloader, or its
            datasets cannot be built (a missing list file or folder).
    """
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import msfam_mm.datasets  # noqa: F401  (registers the datasets)
    from msfam_mm.registry import DATASETS
    from msfam_mm.utils import set_data_root
    cfg = Config.fromfile(config)
    loader = cfg.get('train_dataloader')
    if not loader or 'dataset' not in loader:
        raise ReportError(f'config {config!r} has no train_dataloader '
                          'dataset')
    set_data_root(cfg, data_root)
    try:
        with DefaultScope.overwrite_default_scope('msfam_mm'):
            dataset = DATASETS.build(loader['dataset'])
    except (FileNotFoundError, ValueError, KeyError) as err:
        raise ReportError(f'config {config!r}: cannot list its training '
                          f'images under {data_root!r}: {err}') from None
    files, keys, per_set = set(), set(), Counter()
    for i in range(len(dataset)):
        key, paths = _sample_key(dataset.get_data_info(i), data_root)
        keys.add(key)
        for p in paths:
            if p not in files:
                files.add(p)
                per_set[_first_folder(p, data_root)] += 1
    crop = cfg.get('crop_size')
    return TrainingData(
        role=role, config=config, files=len(files),
        images_per_set=OrderedDict(sorted(per_set.items())), keys=keys,
        iterations=(cfg.get('train_cfg') or {}).get('max_iters'),
        batch=loader.get('batch_size'),
        crop='x'.join(map(str, crop)) if crop else None)


def pairs_seen(test_keys: Iterable[str],
               trained: Sequence[TrainingData]) -> Dict[str, Set[str]]:
    """Per role, the test keys among its training samples."""
    test = set(test_keys)
    return OrderedDict((t.role, test & t.keys) for t in trained)


def unseen_pairs(test_keys: Sequence[str],
                 trained: Sequence[TrainingData]) -> list:
    """Test keys no model trained on, in order; a reconstruction role's
    single images do not count (:data:`RECONSTRUCTION_ROLES`)."""
    seen = set()
    for t in trained:
        if t.role not in RECONSTRUCTION_ROLES:
            seen |= t.keys
    return [k for k in test_keys if k not in seen]
