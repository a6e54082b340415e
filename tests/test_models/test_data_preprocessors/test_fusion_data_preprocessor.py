"""FusionDataPreprocessor: packed visible/infrared pairs become the batched
float tensors the networks take."""
import numpy as np
import pytest
import torch

from msfam_mm.datasets.transforms import PackFusionInputs
from msfam_mm.models.data_preprocessors import FusionDataPreprocessor


# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')


def test_pack_and_preprocess_pairs():
    pack = PackFusionInputs(keys=('vis', 'ir'))
    a = np.full((6, 8), 255, np.uint8)
    b = np.zeros((6, 8), np.uint8)
    packed = [pack(dict(vis=a, ir=b, img_path='x.png', ori_shape=(6, 8)))
              for _ in range(2)]
    assert packed[0]['inputs']['vis'].shape == (1, 6, 8)
    assert packed[0]['data_samples'].img_path == 'x.png'
    batch = dict(inputs=dict(vis=[p['inputs']['vis'] for p in packed],
                             ir=[p['inputs']['ir'] for p in packed]),
                 data_samples=[p['data_samples'] for p in packed])
    out = FusionDataPreprocessor()(batch)
    assert out['inputs']['vis'].shape == (2, 1, 6, 8)
    assert out['inputs']['vis'].dtype == torch.float32
    assert out['inputs']['vis'].max() == 1. and out['inputs']['ir'].max() == 0.
    bad = dict(inputs=[torch.zeros(1, 6, 8, dtype=torch.uint8),
                       torch.zeros(1, 7, 8, dtype=torch.uint8)])
    with pytest.raises(ValueError, match='batch_size=1'):
        FusionDataPreprocessor()(bad)
    labelled = PackFusionInputs(keys=('img', ))(dict(img=a, gt_label=[1, 1]))
    assert labelled['inputs'].shape == (1, 6, 8)
    assert labelled['data_samples'].gt_label.tolist() == [1., 1.]
