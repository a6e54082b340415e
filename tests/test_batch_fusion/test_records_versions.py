"""The run records name the software versions without importing the
detection stack into a fusing process."""
import subprocess
import sys

from msfam_mm.batch_fusion.records import versions

CODE = r'''
import sys, tempfile, os
import numpy as np, cv2
from msfam_mm.batch_fusion import fuse_folders
root = tempfile.mkdtemp()
for band in ('vi', 'ir'):
    os.makedirs(os.path.join(root, band))
    cv2.imwrite(os.path.join(root, band, 'a.png'),
                np.full((16, 24), 100 if band == 'vi' else 50, np.uint8))
res = fuse_folders(os.path.join(root, 'vi'), os.path.join(root, 'ir'),
                   os.path.join(root, 'out'), method='average',
                   progress=False)
assert res['shard']['counts']['fused'] == 1, res['shard']['counts']
print(sorted(m for m in sys.modules if m.split('.')[0] in ('mmdet', 'mmcv')))
'''


def test_a_fusing_run_loads_no_detection_module():
    out = subprocess.run([sys.executable, '-c', CODE], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == '[]', out.stdout


def test_versions_come_from_the_installed_packages():
    from importlib.metadata import version
    v = versions()
    assert v['mmengine'] == version('mmengine')
    assert v['msfam_mm'] == version('msfam_mm')
    assert set(v) >= {'torch', 'numpy', 'opencv', 'mmcv', 'mmdet',
                      'onnxruntime', 'openvino'}
