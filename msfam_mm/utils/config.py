"""Config helpers shared by the tools and tests."""
import argparse
import os.path as osp
from typing import Any

__all__ = ['set_data_root', 'disable_config_formatting',
           'parse_config_arguments']

_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _replace(node: Any, root: str) -> int:
    count = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'data_root' and isinstance(value, str):
                node[key] = root
                count += 1
            else:
                count += _replace(value, root)
    elif isinstance(node, (list, tuple)):
        for item in node:
            count += _replace(item, root)
    return count


def set_data_root(cfg, root: str) -> int:
    """Set every ``data_root`` inside the config's dataloaders to ``root``.

    A config variable such as ``data_root = 'data/'`` is substituted when the
    file is parsed, so ``--cfg-options data_root=...`` would not reach the
    (possibly nested, e.g. ``ConcatDataset``) datasets; this does.

    Returns:
        The number of ``data_root`` fields changed.

    Example:
        >>> from mmengine.config import Config
        >>> cfg = Config(dict(train_dataloader=dict(dataset=dict(
        ...     type='ConcatDataset', datasets=[dict(data_root='data/')]))))
        >>> set_data_root(cfg, '/datasets/fusion')
        1
    """
    if not isinstance(root, str) or not root:
        raise ValueError(f'set_data_root: root must be a non-empty path, got '
                         f'{root!r}')
    count = 0
    for name in _DATALOADERS:
        loader = cfg.get(name)
        if loader is not None:
            count += _replace(loader, root)
    if 'data_root' in cfg:
        cfg['data_root'] = root
    return count


def disable_config_formatting(cfg) -> None:
    """Skip yapf when mmengine renders ``cfg.pretty_text``.

    mmengine formats the config text with yapf when it logs the config,
    dumps it to the work dir and stores it in every checkpoint's meta. For
    the classifier config (eight datasets with their pipelines) that takes
    7-20 s per call on a busy 2-core CPU, most of a short run.
    ``Config.fromfile(..., format_python_code=False)`` does not survive the
    ``_base_`` merge in mmengine 0.10.7, hence this setter. The text stays
    valid Python, only unformatted.

    Example:
        >>> from mmengine.config import Config
        >>> cfg = Config(dict(a=1))
        >>> disable_config_formatting(cfg)
        >>> cfg.pretty_text.strip()
        'a = 1'
    """
    # Config.__setattr__ writes config entries; this is an attribute of the
    # Config object itself (set the same way in Config.__init__)
    object.__setattr__(cfg, '_format_python_code', False)


def parse_config_arguments(parser: argparse.ArgumentParser, argv=None):
    """Parse the arguments of a Runner tool (``tools/train.py``,
    ``tools/test.py``) whose first positional is ``config``, turning what
    would be a traceback into a usage error: a malformed ``--cfg-options``
    item (mmengine's DictAction raises a bare ValueError) and a config file
    that does not exist."""
    try:
        args = parser.parse_args(argv)
    except ValueError as err:
        parser.error(f'--cfg-options: expected KEY=VALUE items ({err})')
    if not osp.isfile(args.config):
        parser.error(f'config file {args.config!r} does not exist')
    return args
