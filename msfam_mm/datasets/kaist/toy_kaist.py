"""A small synthetic dataset in KAIST's layout ("toy KAIST").

It lets users without KAIST run the whole fusion + detection path in minutes
on a CPU, and it is the controlled case where a good visible/infrared fusion
must beat either band alone (Zheng et al., Sensors 2022, Section 4.6 uses
KAIST detection to show this on real data). Every pedestrian is one of:

* ``both``         -- visible in the colour image and hot in the thermal one;
* ``lwir_only``    -- a night pedestrian: the visible frame is dark, only the
  thermal band shows the body;
* ``visible_only`` -- a day pedestrian at thermal crossover (body and
  background at the same temperature): only the colour band shows it.

Day frames hold ``both`` / ``visible_only`` pedestrians, night frames
``lwir_only`` and a few ``both`` (lit by a street lamp). Some frames also hold
a ``people`` group (an ignore region, as in KAIST). Backgrounds are smooth,
pedestrians are textured silhouettes with KAIST's 0.41 width/height ratio;
poles are vertical distractors in both bands.

Layout written (identical to KAIST, so every tool runs unchanged)::

    OUT/images/setXX/VYYY/{visible,lwir}/IZZZZZ.{jpg,png}
    OUT/annotations/setXX/VYYY/IZZZZZ.txt   (bbGt v3)
    OUT/imageSets/{train-all-02,test-all-20,test-day-20,test-night-20}.txt
    OUT/imageSets/{train-all,test-all}.txt   (aliases of the first two)
    OUT/README.md, OUT/manifest.json        (marked synthetic)

Training frames use sets 00 (day) / 03 (night), test frames sets 06 (day) /
09 (night), so KAIST's set-number day/night rule holds. Every fourth frame
of each split and condition is
stored as PNG (the others JPEG), like the mixed public KAIST samples.

Example:
    >>> manifest = make_toy_kaist('/tmp/toy_kaist', num_frames=8,
    ...                           size=(160, 128))  # doctest: +SKIP
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from .frame_ids import format_frame_id
from .layout import LWIR, VISIBLE, kaist_annotation_path, kaist_image_path

TOY_VERSION = 1
#: KAIST's mean pedestrian width/height ratio (Dollar et al., PAMI 2012
#: standardise Caltech/KAIST boxes to 0.41).
PED_ASPECT = 0.41
#: KAIST's reasonable height threshold refers to 512-px-high frames.
KAIST_HEIGHT = 512
_JPEG_QUALITY = 95
_MARGIN = 6  # keep boxes inside KAIST's 5-px evaluation border

_IMAGE_SET_NAMES = dict(train='train-all-02.txt', test='test-all-20.txt',
                        test_day='test-day-20.txt',
                        test_night='test-night-20.txt')
#: Short aliases of the full train/test lists (used by the toy configs).
_IMAGE_SET_ALIASES = dict(train='train-all.txt', test='test-all.txt')
_SETS = {('train', 'day'): 0, ('train', 'night'): 3,
         ('test', 'day'): 6, ('test', 'night'): 9}
_CATEGORY_CYCLE = {'day': ('visible_only', 'both', 'both'),
                   'night': ('lwir_only', 'lwir_only', 'both')}


def _silhouette(w: int, h: int, spread: float = 0.0) -> np.ndarray:
    """Float mask (h, w) of a standing pedestrian in its box.

    Proportions: head ~13 % of the height, torso to 55 %, legs below.
    """
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (int(round(0.5 * w)), int(round(0.09 * h))),
                (max(1, int(0.17 * w)), max(1, int(0.075 * h))), 0, 0, 360,
                1.0, -1)
    cv2.rectangle(mask, (int(0.2 * w), int(0.16 * h)),
                  (int(0.8 * w) - 1, int(0.56 * h)), 1.0, -1)
    for x0, x1 in ((0.1, 0.2), (0.8, 0.9)):  # arms
        cv2.rectangle(mask, (int(x0 * w), int(0.19 * h)),
                      (int(x1 * w) - 1, int(0.5 * h)), 1.0, -1)
    for x0, x1 in ((0.24, 0.47), (0.53, 0.76)):  # legs
        cv2.rectangle(mask, (int(x0 * w), int(0.55 * h)),
                      (int(x1 * w) - 1, h - 1), 1.0, -1)
    if spread > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), spread)
    return mask


def _background(rng: np.random.Generator, size: Tuple[int, int],
                night: bool) -> Tuple[np.ndarray, np.ndarray]:
    """Smooth street scene: (visible BGR float, thermal grey float).

    Sky, a band of distant buildings and the road; brightness depends on the
    row plus a slow horizontal wave, so the scene has no vertical edges that
    could be mistaken for a pedestrian's outline.
    """
    width, height = size
    horizon = int(0.45 * height)
    top = horizon - height // 6
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    phase = rng.uniform(0, 2 * np.pi)
    wave = np.sin(2 * np.pi * cols / (1.5 * width) + phase)  # (1, W)
    sky = np.array([205, 170, 140], np.float32)  # BGR light blue
    building = rng.uniform(100, 170, 3).astype(np.float32)
    road = np.array([118, 122, 125], np.float32)
    g = np.clip((rows - horizon) / max(height - horizon, 1), 0, 1)
    vis = np.empty((height, width, 3), np.float32)
    vis[:top] = sky * (1.0 - 0.15 * rows[:top, :, None] / max(top, 1))
    vis[top:horizon] = building + 12.0 * wave[..., None]
    vis[horizon:] = road * (0.9 + 0.2 * g[horizon:, :, None])
    ir = np.empty((height, width), np.float32)
    ir[:top] = 45.0
    ir[top:horizon] = rng.uniform(75, 100) + 8.0 * wave
    ir[horizon:] = 95.0 + 25.0 * g[horizon:] + 4.0 * wave
    if night:
        vis *= 0.08  # dark visible frame: street unlit
        ir -= 15.0   # cooler scene
    return vis, ir


def _draw_pole(rng, vis, ir, night, taken):
    """A vertical distractor (lamp post) away from the pedestrians."""
    height, width = ir.shape
    pw = max(2, width // 80)
    for _ in range(20):
        x = int(rng.integers(_MARGIN, width - pw - _MARGIN))
        if not any(x < tx + tw + 2 and tx < x + pw + 2 for tx, tw in taken):
            break
    else:
        return
    taken.append((x, pw))
    y0 = int(rng.integers(height // 8, height // 3))
    y1 = int(rng.integers(int(0.7 * height), height - _MARGIN))
    vis[y0:y1, x:x + pw] = 60.0 * (0.08 if night else 1.0)
    ir[y0:y1, x:x + pw] = 150.0  # sun-warmed metal: a thermal distractor


def _paint(rng, vis, ir, box, category, night):
    """Paint one pedestrian into the bands where it is visible."""
    x, y, w, h = box
    if category in ('both', 'visible_only'):
        region = vis[y:y + h, x:x + w]
        mask = _silhouette(w, h)[..., None]
        bg_luma = float(region[h // 3:h // 2, w // 3:2 * w // 3].mean())
        # clothing luminance far from the background's (>= ~70 levels)
        shirt_l = rng.uniform(25, 60) if bg_luma > 110 else rng.uniform(
            180, 235)
        tint = rng.uniform(0.7, 1.3, 3)
        shirt = np.clip(shirt_l * tint, 0, 255)
        pants = np.clip(rng.uniform(0.6, 1.0) * shirt_l * tint[::-1], 0, 255)
        rows = np.arange(h)[:, None, None]
        stripes = 12.0 * np.sign(np.sin(rows * (6.0 / max(h, 1)) * np.pi))
        person = np.where(rows < 0.55 * h, shirt + stripes, pants)
        person = np.broadcast_to(person, (h, w, 3)).astype(np.float32).copy()
        skin = np.array([120, 150, 200], np.float32)
        person[:int(0.17 * h)] = skin if bg_luma <= 110 else skin * 0.45
        if night:  # lit by a street lamp: slightly dimmer
            person *= 0.85
        vis[y:y + h, x:x + w] = region * (1 - mask) + person * mask
    if category in ('both', 'lwir_only'):
        region = ir[y:y + h, x:x + w]
        mask = _silhouette(w, h, spread=max(0.6, w / 25.0))
        body = rng.uniform(195, 225) + rng.normal(0, 5, (h, w))
        body[:int(0.17 * h)] += 15.0  # the head is the hottest part
        ir[y:y + h, x:x + w] = region * (1 - mask) + body * mask


def _place(rng, size, n, taken, width_factor=1.0):
    """Sample ``n`` non-overlapping (x, y, w, h) boxes of standing people.

    ``width_factor`` widens the box (groups of people); ``taken`` holds
    the (x, width) spans already used and is updated.
    """
    width, height = size
    horizon = int(0.45 * height)
    boxes = []
    for _ in range(50 * n):
        if len(boxes) == n:
            break
        h = int(rng.uniform(0.28, 0.55) * height)
        w = max(4, int(round(PED_ASPECT * h * width_factor)))
        y2 = min(height - _MARGIN,
                 horizon + int(h * rng.uniform(0.55, 0.9)))
        y = y2 - h
        if y < _MARGIN or w > width - 2 * _MARGIN:
            continue
        x = int(rng.integers(_MARGIN, width - _MARGIN - w + 1))
        if any(x < tx + tw + 2 and tx < x + w + 2 for tx, tw in taken):
            continue
        taken.append((x, w))
        boxes.append((x, y, w, h))
    return boxes


def _write_image(path: str, img: np.ndarray) -> None:
    img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    params = [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY] \
        if path.endswith('.jpg') else []
    if not cv2.imwrite(path, img, params):
        raise OSError(f'could not write {path}')


def _readme(manifest: dict) -> str:
    w, h = manifest['size']
    return f"""# Toy KAIST -- SYNTHETIC data

**Every image here is synthetic.** It was generated by
`tools/make_toy_kaist.py` (msfam_mm, seed {manifest['seed']}) and contains
no KAIST image. It mimics the KAIST Multispectral Pedestrian layout so that
msfam_mm's fusion, detection and evaluation tools run on it unchanged.

* {manifest['num_frames']} frames of {w}x{h}: {manifest['splits']['train']}
  train (`imageSets/train-all-02.txt`), {manifest['splits']['test']} test
  (`imageSets/test-all-20.txt`, `test-day-20.txt`, `test-night-20.txt`);
  `train-all.txt` / `test-all.txt` are aliases of the full train/test lists.
* Pedestrians are of three kinds (see `manifest.json`, key `visibility`):
  `both` (seen in both bands), `lwir_only` (night: only the thermal band
  shows them), `visible_only` (day, thermal crossover: only the colour band
  shows them). A detector on one band alone cannot find all of them; a good
  fusion can.
* Annotations: bbGt v3 text, label `person` (`people` groups are ignore
  regions), occlusion 0.
* KAIST's "reasonable" height threshold (55 px) refers to 512-px-high frames;
  at this size the equivalent is {manifest['reasonable_min_height']:.1f} px
  (`min_height` of `KAISTMissRateMetric` / `tools/eval_kaist.py`).
"""


def make_toy_kaist(out_root: str, num_frames: int = 48, seed: int = 0,
                   size: Sequence[int] = (320, 256)) -> Dict:
    """Write the toy KAIST dataset to ``out_root`` (must not exist or be
    empty) and return its manifest.

    Frames alternate train/test and, within each split, day/night. The
    output is written to a temporary folder beside ``out_root`` and moved
    into place at the end, so an interrupted run leaves nothing half-written.

    Args:
        out_root: destination folder.
        num_frames: total number of frames (>= 4: each split gets day and
            night frames).
        seed: random seed; the output is a deterministic function of
            ``(num_frames, seed, size)``.
        size: frame size ``(W, H)``, at least 64x64.
    """
    width, height = (int(v) for v in size)
    if width < 64 or height < 64:
        raise ValueError(f'make_toy_kaist: size must be at least 64x64, '
                         f'got {width}x{height}')
    if num_frames < 4:
        raise ValueError(f'make_toy_kaist: num_frames must be >= 4, got '
                         f'{num_frames}')
    if osp.exists(out_root) and (not osp.isdir(out_root)
                                 or os.listdir(out_root)):
        raise FileExistsError(f'make_toy_kaist: {out_root} exists and is not '
                              'an empty folder; choose a new OUT_ROOT')
    rng = np.random.default_rng(seed)
    parent = osp.dirname(osp.abspath(out_root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.toy_kaist_', dir=parent)
    try:
        manifest = _generate(tmp, rng, num_frames, seed, (width, height))
        if osp.isdir(out_root):
            os.rmdir(out_root)  # empty, checked above
        os.replace(tmp, out_root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _generate(root, rng, num_frames, seed, size):
    width, height = size
    lists: Dict[str, List[str]] = {k: [] for k in _IMAGE_SET_NAMES}
    counters = {(s, c): 0 for s in ('train', 'test') for c in ('day', 'night')}
    cat_counters = dict(counters)
    frames_meta = []
    for i in range(num_frames):
        split = 'train' if i % 2 == 0 else 'test'
        condition = 'day' if (i // 2) % 2 == 0 else 'night'
        night = condition == 'night'
        k = counters[(split, condition)]
        counters[(split, condition)] += 1
        index = 2 * k + 1 if split == 'train' else 20 * k + 19
        frame = format_frame_id(_SETS[(split, condition)], 0, index)
        vis, ir = _background(rng, size, night)
        taken: List[Tuple[int, int]] = []
        boxes = _place(rng, size, int(rng.integers(2, 5)), taken)
        groups = _place(rng, size, 1, taken, width_factor=1.6) \
            if i % 5 == 4 else []
        for _ in range(int(rng.integers(0, 3))):
            _draw_pole(rng, vis, ir, night, taken)
        peds = []
        for box in boxes:
            cycle = _CATEGORY_CYCLE[condition]
            n = cat_counters[(split, condition)]
            cat_counters[(split, condition)] += 1
            category = cycle[n % len(cycle)]
            _paint(rng, vis, ir, box, category, night)
            peds.append(dict(label='person', bbox=list(box),
                             visibility=category))
        for gx, gy, gw, gh in groups:  # 'people': a KAIST ignore region
            pw = max(4, int(round(PED_ASPECT * gh)))
            for dx in (0, gw - pw):
                _paint(rng, vis, ir, (gx + dx, gy, pw, gh), 'both', night)
            peds.append(dict(label='people', bbox=[gx, gy, gw, gh],
                             visibility='both'))
        ext = '.png' if k % 4 == 3 else '.jpg'
        for band, img in ((VISIBLE, vis), (LWIR, ir)):
            path = kaist_image_path(root, frame, band, ext)
            os.makedirs(osp.dirname(path), exist_ok=True)
            if band == LWIR:  # KAIST stores thermal as 3-channel grey
                img = np.repeat(img[..., None], 3, axis=2)
            img = img + rng.normal(0, 1.5, img.shape)  # sensor noise
            _write_image(path, img)
        ann_path = kaist_annotation_path(root, frame)
        os.makedirs(osp.dirname(ann_path), exist_ok=True)
        with open(ann_path, 'w') as f:
            f.write('% bbGt version=3\n')
            for ped in peds:
                x, y, w, h = ped['bbox']
                f.write(f"{ped['label']} {x} {y} {w} {h} 0 0 0 0 0 0 0\n")
        lists[split].append(frame)
        if split == 'test':
            lists[f'test_{condition}'].append(frame)
        frames_meta.append(dict(frame_id=frame, split=split,
                                condition=condition, ext=ext,
                                objects=peds))
    os.makedirs(osp.join(root, 'imageSets'))
    for key, name in list(_IMAGE_SET_NAMES.items()) + list(
            _IMAGE_SET_ALIASES.items()):
        with open(osp.join(root, 'imageSets', name), 'w') as f:
            f.write(''.join(fr + '\n' for fr in lists[key]))
    visibility = {}
    for meta in frames_meta:
        for obj in meta['objects']:
            if obj['label'] == 'person':
                visibility[obj['visibility']] = visibility.get(
                    obj['visibility'], 0) + 1
    manifest = dict(
        synthetic=True,
        description='SYNTHETIC toy dataset in the KAIST layout, generated '
        'by msfam_mm tools/make_toy_kaist.py; contains no KAIST image.',
        generator='msfam_mm.datasets.kaist.toy_kaist', version=TOY_VERSION,
        seed=seed, size=[width, height], num_frames=num_frames,
        splits=dict(train=len(lists['train']), test=len(lists['test'])),
        image_sets={k: 'imageSets/' + v for k, v in _IMAGE_SET_NAMES.items()},
        reasonable_min_height=55.0 * height / KAIST_HEIGHT,
        person_visibility_counts=visibility, frames=frames_meta)
    with open(osp.join(root, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
    with open(osp.join(root, 'README.md'), 'w') as f:
        f.write(_readme(manifest))
    return manifest
