"""Fuse two folders of images paired by file name (``tools/fuse.py``).

``VIS_DIR/NAME.*`` is paired with ``IR_DIR/NAME.*`` (same stem; the
extensions may differ, e.g. TNO PNGs or RoadScene JPEGs) and fused into
``OUT_DIR/NAME.<ext>``. Same engine as the KAIST tool: resumable, atomic,
bad pairs reported by path; ``OUT_DIR/manifest.json`` records the run.

Example:
    >>> result = fuse_folders('tno42/vi', 'tno42/ir', 'out',
    ...                       method='laplacian')        # doctest: +SKIP
"""
import os
from pathlib import Path
from typing import Dict, Optional

from .fusion_engine import PairTask
from ..utils.image_io import IMAGE_EXTENSIONS
from .kaist_fusion import (_inside, check_out_folder, fuse_on_record,
                           fusion_settings, prepare_fuser)


def _images_by_stem(folder: Path) -> Dict[str, str]:
    if not folder.is_dir():
        raise FileNotFoundError(f'image folder {folder} does not exist')
    out: Dict[str, str] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and \
                not p.name.startswith('.'):
            if p.stem in out:
                raise ValueError(f'{folder} holds two images named {p.stem} '
                                 f'({os.path.basename(out[p.stem])}, '
                                 f'{p.name}); pairing by name is ambiguous')
            out[p.stem] = os.fspath(p)
    return out


def fuse_folders(vis_dir, ir_dir, out_dir, method: str, config=None,
                 checkpoint=None, device: str = 'cpu',
                 precision: str = 'fp32', color: bool = False,
                 normalize: Optional[str] = None, batch_size: int = 1,
                 workers: int = 2, ext: str = 'png', jpeg_quality: int = 95,
                 overwrite: bool = False, progress: bool = True,
                 method_options: Optional[Dict] = None) -> Dict:
    """Fuse every name present in ``vis_dir`` or ``ir_dir``; a name found in
    only one of them is reported as a missing counterpart.

    Every argument is checked (and a learned model built, if there is work)
    before anything is written to ``out_dir``. Returns dict with this run's
    manifest (``shard``) and the merged one (``merged``).
    """
    vis_dir, ir_dir, out_dir = Path(vis_dir), Path(ir_dir), Path(out_dir)
    for src in (vis_dir, ir_dir):
        if _inside(out_dir, src):
            raise ValueError(f'--out {out_dir} lies inside input folder '
                             f'{src}; choose a folder outside the inputs')
    check_out_folder(out_dir, '--out')
    if batch_size < 1 or workers < 0:
        raise ValueError(f'--batch-size >= 1 and --workers >= 0 required; '
                         f'got {batch_size}, {workers}')
    settings = fusion_settings(
        method, config, checkpoint, precision, color, normalize, ext,
        jpeg_quality, 'fused', method_options,
        inputs=dict(vis_dir=os.fspath(vis_dir.resolve()),
                    ir_dir=os.fspath(ir_dir.resolve())))
    factory = prepare_fuser(settings, device)
    vis, ir = _images_by_stem(vis_dir), _images_by_stem(ir_dir)
    if not vis and not ir:
        raise ValueError(f'no images in {vis_dir} or {ir_dir}')
    ext = settings['ext']
    keys = sorted(set(vis) | set(ir))
    tasks = []
    for stem in keys:
        missing = ''
        if stem not in vis:
            missing = f'missing visible counterpart {vis_dir / stem}.*'
        elif stem not in ir:
            missing = f'missing infrared counterpart {ir_dir / stem}.*'
        tasks.append(PairTask(stem, vis.get(stem), ir.get(stem),
                              os.fspath(out_dir / f'{stem}.{ext}'), missing))
    return fuse_on_record(
        out_dir, settings, tasks, factory, overwrite=overwrite,
        list_name='folders', image_set=None, keys=keys, layout='flat',
        manifest=dict(vis_dir=os.fspath(vis_dir.resolve()),
                      ir_dir=os.fspath(ir_dir.resolve()),
                      shard=dict(num_shards=1, shard_id=0)),
        run=dict(device=device, batch_size=batch_size, workers=workers),
        batch_size=batch_size, workers=workers, jpeg_quality=jpeg_quality,
        progress=progress, desc=f'fuse {method}')
