"""FusionMetric, the registered mmengine metric: the paper's metrics, its
options and errors, and the bytes inference writes."""
import math

import numpy as np
import pytest
import torch

from msfam_mm.evaluation.fusion_metrics import (FusionMetric, PAPER_METRICS,
                                                evaluate_fusion)


# ------------------------------------------------------------ FusionMetric
def test_fusion_metric_registered_and_computes_paper_metrics(tno_pair):
    from msfam_mm.registry import METRICS
    metric = METRICS.build(dict(type='FusionMetric'))
    assert metric.prefix == 'fusion'
    vis, ir = tno_pair
    v = torch.from_numpy(vis).float()[None] / 255
    i = torch.from_numpy(ir).float()[None] / 255
    # Un-normalised network output: min-max normalisation must undo the
    # affine change exactly, so the scores equal those of the 8-bit image.
    m = np.maximum(vis, ir).astype(np.float64)
    fused8 = np.floor((m - m.min()) / (m.max() - m.min()) * 255 + 0.5)
    fused8 = fused8.astype(np.uint8)
    raw = torch.from_numpy(fused8).double()[None] / 255 * 0.6 - 0.1
    metric.process({}, [dict(fused=raw, vis=v, ir=i, img_path='01.png')])
    metric.process({}, [dict(fused=raw, vis=v, ir=i, img_path='01b.png')])
    out = metric.evaluate(2)
    assert set(out) == {f'fusion/{m}' for m in PAPER_METRICS}
    ref = evaluate_fusion(fused8, vis, ir, metrics=PAPER_METRICS)
    for m in PAPER_METRICS:
        assert out[f'fusion/{m}'] == pytest.approx(ref[m], abs=1e-9), m


def test_fusion_metric_options_and_errors():
    m = FusionMetric(metrics=['en', 'qabf'], convention='mean',
                     per_source=True)
    x = torch.linspace(0, 1, 48 * 40).reshape(1, 48, 40)
    m.process({}, [dict(fused=x * 3 + 1, vis=x, ir=1 - x, name='a')])
    out = m.compute_metrics(m.results)
    assert set(out) == {'EN', 'Qabf', 'Qabf_V', 'Qabf_I'}
    with pytest.raises(KeyError, match='ir'):
        m.process({}, [dict(fused=x, vis=x, name='b')])
    with pytest.raises(ValueError, match='convention'):
        FusionMetric(convention='avg')
    with pytest.raises(ValueError, match='shape'):
        m.process({}, [dict(fused=x[None], vis=x, ir=x)])
    # an image too small for a metric: the error names it
    tiny = x[:, :8, :9]
    with pytest.raises(ValueError, match=r'FusionMetric: data/vi/tiny\.png: '
                                         r'.*11x11 window'):
        FusionMetric(metrics=['ssim']).process(
            {}, [dict(fused=tiny, vis=tiny, ir=tiny,
                      img_path='data/vi/tiny.png')])


def test_fusion_metric_scores_the_bytes_inference_writes():
    """FusionMetric converts the fused output with inference's
    ``to_uint8``: min-max to 0..255, and a constant output is black."""
    from msfam_mm.apis.base_fuser import tensor_to_uint8
    x = torch.linspace(-1, 3, 48 * 40).reshape(1, 48, 40)
    src = torch.linspace(0, 1, 48 * 40).reshape(1, 48, 40)
    m = FusionMetric(metrics=['psnr', 'en'])
    m.process({}, [dict(fused=x, vis=src, ir=src, name='ramp')])
    written = tensor_to_uint8(x[None], 'minmax')[0, 0].numpy()
    src_u8 = np.rint(src[0].numpy() * 255).astype(np.uint8)
    expected = evaluate_fusion(written, src_u8, src_u8, ['psnr', 'en'])
    assert m.results[0] == pytest.approx(
        {k: expected[k] for k in ('PSNR', 'EN')})
    # constant sources at 0.5 -> 128 and a constant fused output -> 0:
    # MSE 128^2, PSNR = 20 log10(255 / 128) = 5.9868 dB (a clipped
    # constant output would equal the sources: PSNR inf)
    half = torch.full((1, 48, 40), 0.5)
    m.process({}, [dict(fused=half, vis=half, ir=half, name='flat')])
    assert m.results[1]['PSNR'] == pytest.approx(20 * math.log10(255 / 128))
