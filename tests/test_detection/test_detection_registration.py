"""msfam_mm.detection is the optional layer: importing msfam_mm registers no
detection class, importing msfam_mm.detection (as the GFLV2 configs do
through custom_imports) registers each in MMDetection's registries."""
import json
import subprocess
import sys

import pytest

pytest.importorskip('mmdet')

SCRIPT = r'''
import json
import sys

from mmengine.registry import WEIGHT_INITIALIZERS
from mmdet.registry import DATASETS, METRICS, MODELS

NAMES = [(MODELS, 'GFLV2Head'), (DATASETS, 'KAISTDataset'),
         (METRICS, 'KAISTMissRateMetric'),
         (WEIGHT_INITIALIZERS, 'PretrainedIfAvailable')]


def registered():
    return {name: reg.get(name) is not None for reg, name in NAMES}


import msfam_mm
report = dict(core=registered())
if sys.argv[1] == 'config':
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile('configs/gflv2/gflv2_r18_fpn_kaist_toy.py')
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    report['built'] = [cfg.default_scope, type(model.bbox_head).__name__]
else:
    import msfam_mm.detection as det
    report['classes'] = {
        'GFLV2Head': MODELS.get('GFLV2Head') is det.GFLV2Head,
        'KAISTDataset': DATASETS.get('KAISTDataset') is det.KAISTDataset,
        'KAISTMissRateMetric':
            METRICS.get('KAISTMissRateMetric') is det.KAISTMissRateMetric,
        'PretrainedIfAvailable': WEIGHT_INITIALIZERS.get(
            'PretrainedIfAvailable') is det.OptionalPretrainedInit}
report['detection'] = registered()
print('REPORT ' + json.dumps(report))
'''


def run(repo_root, mode):
    proc = subprocess.run([sys.executable, '-c', SCRIPT, mode],
                          cwd=repo_root, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = [ln for ln in proc.stdout.splitlines()
            if ln.startswith('REPORT ')][-1]
    return json.loads(line[len('REPORT '):])


NONE = dict.fromkeys(('GFLV2Head', 'KAISTDataset', 'KAISTMissRateMetric',
                      'PretrainedIfAvailable'), False)
ALL = dict.fromkeys(NONE, True)


def test_importing_detection_registers_in_mmdet_registries(repo_root):
    report = run(repo_root, 'import')
    assert report['core'] == NONE  # import msfam_mm alone registers none
    assert report['detection'] == ALL
    assert report['classes'] == ALL  # the very classes of msfam_mm.detection


def test_gflv2_config_imports_the_detection_layer(repo_root):
    """The toy GFLV2 config's custom_imports bring the layer in: its model
    builds in the mmdet scope with msfam_mm's GFLV2 head."""
    report = run(repo_root, 'config')
    assert report['core'] == NONE
    assert report['built'] == ['mmdet', 'GFLV2Head']
    assert report['detection'] == ALL
