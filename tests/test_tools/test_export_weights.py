"""tools/export_weights.py: fp16 state dicts of a training checkpoint,
checked before anything is written, loadable by the inference API."""
import hashlib
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
STAGE2_CONFIG = str(REPO / 'configs' / 'msfam_stage2.py')


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ------------------------------------------------------------ export_weights
def test_export_writes_fp16_state_dicts(exported):
    import msfam_mm  # noqa: F401
    from msfam_mm.models.networks import MSFAMNet
    from msfam_mm.models.networks import SemanticConstraintClassifier
    net_sd = torch.load(exported['stage2']['path'], weights_only=True)
    cls_sd = torch.load(exported['classifier']['path'], weights_only=True)
    assert list(net_sd) == list(MSFAMNet(with_fusion=True).state_dict())
    assert list(cls_sd) == list(SemanticConstraintClassifier().state_dict())
    for sd in (net_sd, cls_sd):
        floats = [v for v in sd.values() if v.is_floating_point()]
        assert floats and all(v.dtype == torch.float16 for v in floats)
    # fp16 rounding of the weights changes the output only a little
    assert exported['stage2']['max_abs_diff'] < 5e-2
    assert exported['classifier']['max_abs_diff'] < 1e-2
    for r in exported.values():
        assert r['sha256'] == _sha(r['path'])
        assert r['bytes'] == os.path.getsize(r['path'])
    # half the bytes of fp32: 4.22 M parameters -> < 9 MiB
    assert exported['stage2']['bytes'] < 9 * 2**20


def test_exported_weights_load_through_inference_api(exported,
                                                     stage2_checkpoint,
                                                     tno42):
    from msfam_mm.apis import FusionInferencer
    vis = cv2.imread(str(tno42 / 'vi' / '05.png'), cv2.IMREAD_GRAYSCALE)
    ir = cv2.imread(str(tno42 / 'ir' / '05.png'), cv2.IMREAD_GRAYSCALE)
    vis, ir = vis[100:164, 90:170], ir[100:164, 90:170]
    half = FusionInferencer(STAGE2_CONFIG, exported['stage2']['path'])(vis, ir)
    full = FusionInferencer(STAGE2_CONFIG, str(stage2_checkpoint))(vis, ir)
    assert half.shape == vis.shape and half.dtype == np.uint8
    # same network up to fp16 weight rounding (min-max stretched output)
    assert np.abs(half.astype(int) - full.astype(int)).mean() < 2.0


def test_export_refuses_checkpoint_without_network(export_tool, tmp_path,
                                                   capsys):
    bad = tmp_path / 'cls_only.pth'
    torch.save(dict(state_dict={'classifier.fc.weight': torch.zeros(2, 2)}),
               bad)
    assert export_tool.main([str(bad), '--out-dir', str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert 'cls_only.pth' in err and "'net.'" in err
    assert not list(tmp_path.glob('*_fp16.pth'))
    assert export_tool.main([str(tmp_path / 'nope.pth')]) == 2
    assert 'does not exist' in capsys.readouterr().err


def test_fp16_range_check(export_tool):
    with pytest.raises(ValueError, match='float16 range'):
        export_tool.check_fp16_range({'w': torch.tensor([1e6])}, 'x.pth')
    export_tool.check_fp16_range({'w': torch.tensor([6e4]),
                                  'n': torch.tensor([10 ** 9])}, 'x.pth')


# ------------------------------------- export_weights: checks before writing
def _export_outputs(out, prefix='unit'):
    return [out / f'{prefix}_stage2_fp16.pth',
            out / f'{prefix}_classifier_fp16.pth']


def test_export_bad_classifier_writes_nothing(export_tool, stage2_checkpoint,
                                              tmp_path, capsys):
    """The classifier is checked before anything is written: a bad
    --classifier leaves the existing outputs (e.g. the shipped files) as
    they were, and the error names the classifier file."""
    out = tmp_path / 'out'
    out.mkdir()
    for p in _export_outputs(out):
        p.write_bytes(b'previous export')
    bad = tmp_path / 'bad_cls.pth'
    torch.save(dict(state_dict={'classifier.fc.weight': torch.zeros(2, 2)}),
               bad)
    rc = export_tool.main([str(stage2_checkpoint), '--classifier', str(bad),
                           '--config', STAGE2_CONFIG, '--out-dir', str(out),
                           '--prefix', 'unit'])
    assert rc == 2
    for p in _export_outputs(out):
        assert p.read_bytes() == b'previous export'
    assert sorted(x.name for x in out.iterdir()) == sorted(
        p.name for p in _export_outputs(out))  # no temporary files left
    assert 'bad_cls.pth' in capsys.readouterr().err


def test_export_stage1_checkpoint_as_stage2_is_named(export_tool, exported,
                                                     tmp_path, capsys):
    """A stage-1 checkpoint (no fusion blocks) given as stage 2: the error
    names that file, and nothing is written."""
    import msfam_mm  # noqa: F401
    from msfam_mm.registry import MODELS
    stage1 = MODELS.build(dict(type='MSFAMReconstructor',
                               data_preprocessor=None))
    path = tmp_path / 'stage1_iter_800.pth'
    torch.save(dict(meta=dict(iter=800), state_dict=stage1.state_dict()),
               path)
    out = tmp_path / 'out'
    rc = export_tool.main([str(path), '--classifier',
                           exported['classifier']['path'],
                           '--config', STAGE2_CONFIG, '--out-dir', str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert 'stage1_iter_800.pth' in err and 'MSFAMNet' in err
    assert not out.exists() or not list(out.iterdir())


def test_export_writes_both_or_neither(export_tool, stage2_checkpoint,
                                       tmp_path, monkeypatch):
    """If writing the second file fails, the first is not installed
    either and no temporary file is left behind."""
    real_save, calls = torch.save, []

    def failing_save(obj, f, *a, **k):
        calls.append(f)
        if len(calls) == 2:
            raise OSError('disk full')
        return real_save(obj, f, *a, **k)
    monkeypatch.setattr(export_tool.torch, 'save', failing_save)
    out = tmp_path / 'out'
    with pytest.raises(OSError, match='disk full'):
        export_tool.export(str(stage2_checkpoint), None, STAGE2_CONFIG,
                           str(out), 'unit')
    assert len(calls) == 2
    assert not out.exists() or not list(out.iterdir())


def test_export_refuses_to_overwrite_its_input(export_tool, exported,
                                               stage2_checkpoint, tmp_path,
                                               capsys):
    out = tmp_path / 'out'
    out.mkdir()
    cls = out / 'unit_classifier_fp16.pth'
    cls.write_bytes(Path(exported['classifier']['path']).read_bytes())
    before = _sha(cls)
    rc = export_tool.main([str(stage2_checkpoint), '--classifier', str(cls),
                           '--config', STAGE2_CONFIG, '--out-dir', str(out),
                           '--prefix', 'unit'])
    assert rc == 2
    err = capsys.readouterr().err
    assert str(cls) in err and 'input' in err
    assert _sha(cls) == before and [p.name for p in out.iterdir()] == [
        cls.name]


def test_export_replacing_a_file_says_so_and_help_shows_defaults(
        export_tool, stage2_checkpoint, tmp_path, capsys, monkeypatch):
    out = tmp_path / 'out'
    out.mkdir()
    old = _export_outputs(out)[0]
    old.write_bytes(b'old weights')
    assert export_tool.main([str(stage2_checkpoint), '--config',
                             STAGE2_CONFIG, '--out-dir', str(out),
                             '--prefix', 'unit']) == 0
    captured = capsys.readouterr()
    assert f'replaced {old}' in captured.err
    assert hashlib.sha256(b'old weights').hexdigest() in captured.err
    assert _sha(old) in captured.out
    monkeypatch.setenv('COLUMNS', '2000')  # no line break inside a path
    with pytest.raises(SystemExit):
        export_tool.parse_args(['--help'])
    text = ' '.join(capsys.readouterr().out.split())
    # the defaults are the shipped weights' own paths: say so
    assert f'default: {REPO / "checkpoints"}' in text
    assert 'default: msfam_cpu' in text
    assert f'default: {REPO / "configs" / "msfam_stage2.py"}' in text


def test_export_of_the_shipped_weights_is_byte_identical(export_tool,
                                                         tmp_path):
    """Re-exporting the shipped files reproduces their sha256 (the zip's
    record names follow the output name, not the temporary one)."""
    ship = REPO / 'checkpoints'
    res = export_tool.export(str(ship / 'msfam_cpu_stage2_fp16.pth'),
                             str(ship / 'msfam_cpu_classifier_fp16.pth'),
                             out_dir=str(tmp_path), prefix='msfam_cpu')
    for name in ('stage2', 'classifier'):
        assert res[name]['sha256'] == _sha(
            ship / f'msfam_cpu_{name}_fp16.pth')
        assert res[name]['max_abs_diff'] == 0
