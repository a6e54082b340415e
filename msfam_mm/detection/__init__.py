"""KAIST detection downstream (paper Section 4.4, Table 7): the optional
layer of msfam_mm that needs MMDetection and a compiled mmcv
(``pip install -e .[detection]``).

Importing this package registers, in MMDetection's registries (the GFLV2
configs run with ``default_scope='mmdet'``):

* ``GFLV2Head`` (``MODELS``): GFLV2 (Li et al., CVPR 2021) on mmdet's GFL,
* ``KAISTDataset`` (``DATASETS``): KAIST read in place,
* ``KAISTMissRateMetric`` (``METRICS``): the KAIST MR^-2 benchmark,

and ``PretrainedIfAvailable`` (:class:`OptionalPretrainedInit`) in mmengine's
root ``WEIGHT_INITIALIZERS``. Detection configs load it with
``custom_imports=dict(imports=['msfam_mm.detection'],
allow_failed_imports=False)``. The pure-Python KAIST pieces the fusion tools
also use (bbGt parsing, frame ids, folder layout, COCO conversion, the toy
KAIST, the miss-rate protocol) live in :mod:`msfam_mm.datasets.kaist` and
:mod:`msfam_mm.evaluation.kaist`; ``import msfam_mm`` never imports this
package.
"""
from .gflv2_head import (DistributionGuidedQualityPredictor, GFLV2Head,
                         distribution_statistics)
from .kaist_dataset import KAISTDataset
from .kaist_metric import KAISTMissRateMetric
from .optional_pretrained_init import (OptionalPretrainedInit,
                                       allow_training_from_scratch,
                                       resolve_checkpoint)

__all__ = [
    'GFLV2Head', 'DistributionGuidedQualityPredictor',
    'distribution_statistics', 'KAISTDataset', 'KAISTMissRateMetric',
    'OptionalPretrainedInit', 'allow_training_from_scratch',
    'resolve_checkpoint'
]
