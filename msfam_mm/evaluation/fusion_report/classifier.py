"""The Semantic Constraint classifier's accuracy on image files of a test
set (Section 3.5: visible (1, 0), infrared (0, 1), fused (1, 1)).

Example:
    >>> acc = classifier_accuracy(
    ...     'configs/msfam_stage2.py',
    ...     'checkpoints/msfam_cpu_classifier_fp16.pth', pairs,
    ...     {'SeAFusion': [...]})                   # doctest: +SKIP
    >>> acc['visible']                              # doctest: +SKIP
    (20, 22, 26)
"""
from collections import OrderedDict
from typing import Dict, List, Tuple

from msfam_mm.utils.image_io import ImageReadError, read_image, to_grey
from .protocols import ReportError

__all__ = ['CLASSIFIER_CROP', 'classifier_accuracy']

#: the classifier's input in stage 2 and in its validation: the paper's
#: 320x256 crops (Section 4.1), as H x W
CLASSIFIER_CROP = (256, 320)


def classifier_accuracy(config: str, checkpoint: str,
                        test_pairs: Dict[str, Tuple[str, str]],
                        fused_sources: Dict[str, List[str]]
                        ) -> 'OrderedDict[str, Tuple[int, int, int]]':
    """Exact-match accuracy (both outputs thresholded at 0.5) on the
    pairs' visible and infrared images and on the fused images of each
    group: ``{group: (correct at the original size, correct on a central
    CLASSIFIER_CROP crop, total)}``. The crop is the one of its validation
    and of stage 2 (``SyncedCenterCrop``, reflection-padded where an
    image is smaller).

    Raises:
        ReportError: an image that cannot be read.
    """
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import msfam_mm.models  # noqa: F401  (registers the classifier)
    from msfam_mm.datasets.transforms import SyncedCenterCrop
    from msfam_mm.registry import MODELS
    from msfam_mm.utils import prefixed_or_bare_state_dict
    crop = SyncedCenterCrop(crop_size=CLASSIFIER_CROP, keys=('img', ))
    cfg = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope('msfam_mm'):
        cls = MODELS.build(cfg.model.classifier).eval()
    cls.load_state_dict(
        prefixed_or_bare_state_dict(checkpoint, 'classifier.'), strict=True)
    groups = OrderedDict()
    groups['visible'] = ([v for v, _ in test_pairs.values()], (1, 0))
    groups['infrared'] = ([i for _, i in test_pairs.values()], (0, 1))
    for name, paths in fused_sources.items():
        groups[f'fused: {name}'] = (paths, (1, 1))

    def right(grey, target) -> bool:
        x = torch.from_numpy(grey).float().div(255)[None, None]
        return (cls(x)[0] > 0.5).int().tolist() == list(target)

    out = OrderedDict()
    with torch.no_grad():
        for name, (paths, target) in groups.items():
            full = cropped = 0
            for p in paths:
                try:
                    grey = to_grey(read_image(p))  # BT.601
                except ImageReadError as err:
                    raise ReportError(f'classifier: {err}') from None
                full += right(grey, target)
                cropped += right(crop(dict(img=grey))['img'], target)
            out[name] = (full, cropped, len(paths))
    return out
