"""The methods of a report and where their fused images are.

A method is a registered fuser (fused by the report into its work folder,
learned ones under a folder named with their checkpoint's sha256, so new
weights never reuse old images) or a folder of fused images (the published
methods).

Example:
    >>> m = Method('SeAFusion', folder='published/SeAFusion')
    >>> m.fused_path('work_dirs/report', 'tno42/05')  # doctest: +SKIP
    'published/SeAFusion/05.png'
"""
import os.path as osp
from collections import OrderedDict
from typing import List, Optional, Sequence

from msfam_mm.utils.hashing import file_sha256
from msfam_mm.utils.image_io import IMAGE_EXTENSIONS
from .protocols import PUBLISHED_METHODS, TNO42, ReportError

__all__ = ['Method', 'SHIPPED', 'parse_ablation', 'classic_baselines',
           'published_methods', 'classifier_groups', 'select']

#: the row name of the evaluated model
SHIPPED = 'MSFAM (shipped)'


class Method:
    """A fusion method of the report.

    Args:
        name: its row name.
        fuser: a ``FUSERS`` name (``None`` for a folder).
        config, checkpoint: of a learned fuser.
        folder: fused images named by the pairs' stems.
        kind: ``'shipped'``, ``'baseline'``, ``'published'`` or
            ``'ablation'``.
    """

    def __init__(self, name: str, fuser: Optional[str] = None,
                 config: Optional[str] = None,
                 checkpoint: Optional[str] = None,
                 folder: Optional[str] = None, kind: str = 'baseline'):
        self.name, self.fuser, self.config = name, fuser, config
        self.checkpoint, self.folder, self.kind = checkpoint, folder, kind
        self.sha256 = file_sha256(checkpoint) if checkpoint else None

    def __repr__(self) -> str:
        return f'Method({self.name!r}, kind={self.kind!r})'

    @property
    def slug(self) -> str:
        """Its folder name: the name in file-safe characters, plus the
        checkpoint's sha256 prefix for a learned method."""
        base = ''.join(c if c.isalnum() or c in '-_' else '_'
                       for c in self.name)
        return f'{base}-{self.sha256[:12]}' if self.sha256 else base

    def fused_path(self, work_dir: str, key: str) -> str:
        """The fused image of pair ``key`` (it may not exist yet)."""
        if self.folder is not None:
            stem = key.split('/', 1)[1]
            for ext in IMAGE_EXTENSIONS:
                p = osp.join(self.folder, stem + ext)
                if osp.isfile(p):
                    return p
            return osp.join(self.folder, stem + '.png')
        return osp.join(work_dir, 'fused', self.slug, key + '.png')


def parse_ablation(spec: str) -> Method:
    """An ablation row from ``NAME=METHOD:CONFIG:CHECKPOINT``.

    Raises:
        ReportError: another form, or a file that does not exist.
    """
    try:
        name, rest = spec.split('=', 1)
        fuser, config, ckpt = rest.split(':', 2)
    except ValueError:
        raise ReportError(f'ablation {spec!r}: expected '
                          'NAME=METHOD:CONFIG:CHECKPOINT') from None
    for p in (config, ckpt):
        if not osp.isfile(p):
            raise ReportError(f'ablation {spec!r}: file {p!r} does not '
                              'exist')
    return Method(name, fuser, config, ckpt, kind='ablation')


def classic_baselines(names: Sequence[str], registry) -> List[Method]:
    """One baseline row per registered fuser class without a model, named
    by the shortest of its aliases ('max' rather than 'choose_max')."""
    by_cls = OrderedDict()
    for n in names:
        cls = registry.get(n)
        if cls.requires_model:
            continue
        if cls not in by_cls or len(n) < len(by_cls[cls]):
            by_cls[cls] = n
    return [Method(f'baseline: {n}', n) for n in sorted(by_cls.values())]


def published_methods(data_root: str) -> List[Method]:
    """The nine published fusions of ``<data_root>/tno42_published_fusions``.

    Raises:
        ReportError: a method's folder is missing.
    """
    root = osp.join(data_root, 'tno42_published_fusions')
    out = [Method(m, folder=osp.join(root, m), kind='published')
           for m in PUBLISHED_METHODS]
    for m in out:
        if not osp.isdir(m.folder):
            raise ReportError(f'published fusions {m.folder!r} missing')
    return out


def classifier_groups(methods: Sequence[Method], keys: Sequence[str],
                      work_dir: str) -> 'OrderedDict[str, List[str]]':
    """The fused images the classifier is scored on: per method its fused
    images of ``keys``; the published methods in one group (``published``)
    of the TNO-42 keys (the pairs they fused)."""
    groups = OrderedDict()
    for m in methods:
        if m.kind == 'published':
            groups.setdefault('published', []).extend(
                m.fused_path(work_dir, k) for k in keys
                if k.startswith(TNO42 + '/'))
        else:
            groups[m.name] = [m.fused_path(work_dir, k) for k in keys]
    if not groups.get('published', True):
        del groups['published']
    return groups


def select(methods: Sequence[Method], names: str) -> List[Method]:
    """The methods named in ``names`` (comma-separated), in that order.

    Raises:
        ReportError: a name that is not one of ``methods``.
    """
    by_name = {m.name: m for m in methods}
    unknown = [n for n in names.split(',') if n not in by_name]
    if unknown:
        raise ReportError(f'methods {names!r}: {", ".join(unknown)} unknown; '
                          f'choose from {", ".join(by_name)}')
    return [by_name[n] for n in names.split(',')]
