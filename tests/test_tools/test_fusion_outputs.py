"""What tools/fuse.py and tools/fuse_kaist.py leave in their output folder:
settings on record before the first output (killed and interrupted runs),
inputs as part of the identity, honest completeness over frame lists and
shards, every argument checked before anything is written, usage/IO errors
as exit 2, and file modes. Small crops of the toy KAIST (tests/conftest.py)
and of real TNO pairs keep each test at a few seconds."""
import json
import os
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools'))

import fuse  # noqa: E402
import fuse_kaist  # noqa: E402
from msfam_mm.apis import model_loading  # noqa: E402
from msfam_mm.batch_fusion import fusion_settings  # noqa: E402
from msfam_mm.batch_fusion.settings import settings_conflict  # noqa: E402
from kill_switch import run_killed_after  # noqa: E402

# six frames of the toy KAIST: day and night, the first one a PNG
FRAMES = ['set00/V000/I00007', 'set03/V000/I00001', 'set03/V000/I00005',
          'set06/V000/I00019', 'set09/V000/I00019', 'set09/V000/I00059']


def _kaist(argv):
    return fuse_kaist.main([str(a) for a in argv] + ['--no-progress'])


def _fuse(argv):
    return fuse.main([str(a) for a in argv] + ['--no-progress'])


def _manifest(root):
    return json.loads((Path(root) / 'manifest.json').read_text())


def _lists(root):
    return {entry['name']: entry for entry in _manifest(root)['lists']}


def _outputs(root, modality='fused'):
    return sorted((Path(root) / 'images').glob(f'*/*/{modality}/*'))


def _write_list(root, name, frames):
    (Path(root) / 'imageSets' / name).write_text('\n'.join(frames) + '\n')


@pytest.fixture(scope='module')
def small_kaist(toy_kaist, tmp_path_factory):
    """Six toy KAIST frames cropped to 48x64 (same layout, JPEG and PNG,
    3-channel lwir), with lists a.txt (3 frames), b.txt (the other 3) and
    all.txt. Tests that damage it work on a copy."""
    root = tmp_path_factory.mktemp('small_kaist') / 'kaist'
    for fid in FRAMES:
        s, v, i = fid.split('/')
        for mod in ('visible', 'lwir'):
            src = next((toy_kaist / 'images' / s / v / mod).glob(i + '.*'))
            dst = root / 'images' / s / v / mod / src.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            img = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
            assert cv2.imwrite(str(dst), img[200:248, 300:364])
        ann = root / 'annotations' / s / v / f'{i}.txt'
        ann.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(toy_kaist / 'annotations' / s / v / f'{i}.txt', ann)
    (root / 'imageSets').mkdir()
    _write_list(root, 'a.txt', FRAMES[:3])
    _write_list(root, 'b.txt', FRAMES[3:])
    _write_list(root, 'all.txt', FRAMES)
    return root


def _pair_folders(tno42, dst, names=('01', '02', '03'), shift=0):
    for sub in ('vi', 'ir'):
        (dst / sub).mkdir(parents=True)
        for n in names:
            img = cv2.imread(str(tno42 / sub / f'{n}.png'),
                             cv2.IMREAD_UNCHANGED)
            cv2.imwrite(str(dst / sub / f'{n}.png'),
                        img[shift:shift + 40, shift:shift + 48])
    return dst / 'vi', dst / 'ir'


# ---------------------------------------------------------------- item 1
def test_killed_run_is_on_record_and_other_settings_refused(
        small_kaist, tmp_path, capsys):
    out = tmp_path / 'out'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = run_killed_after(
        1, REPO / 'tools' / 'fuse_kaist.py',
        [small_kaist, out, '--method', 'max', '--color', '--workers', '0',
         '--writer-threads', '1', '--no-progress'],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr  # SIGKILL after one output
    assert 1 <= len(_outputs(out)) < len(FRAMES)
    assert not _manifest(out)['complete']
    # before the fix the killed run left no record and this mixed methods
    assert _kaist([small_kaist, out, '--method', 'average']) == 2
    err = capsys.readouterr().err
    assert "method: 'max' -> 'average'" in err
    assert 'color: True -> False' in err
    assert _kaist([small_kaist, out, '--method', 'max', '--color']) == 0
    m = _manifest(out)
    assert m['complete'] and m['counts']['done'] == len(FRAMES)
    assert m['lists'][0]['shardings'][0]['unfinished'] == []


def test_interrupted_folder_run_refuses_other_settings(tno42, tmp_path,
                                                       monkeypatch, capsys):
    vis, ir = _pair_folders(tno42, tmp_path / 'in')
    out = tmp_path / 'out'
    from msfam_mm.apis.base_fuser import BaseFuser
    real, calls = BaseFuser.fuse_luma, []

    def interrupted(self, *args):  # Ctrl-C during the second pair
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(BaseFuser, 'fuse_luma', interrupted)
    argv = ['--vis', vis, '--ir', ir, '--out', out, '--workers', '0']
    assert _fuse(argv + ['--method', 'max']) == 130
    assert 'interrupted' in capsys.readouterr().err
    assert len(list(out.glob('*.png'))) == 1
    monkeypatch.setattr(BaseFuser, 'fuse_luma', real)
    assert _fuse(argv + ['--method', 'average']) == 2
    assert "method: 'max' -> 'average'" in capsys.readouterr().err
    assert _fuse(argv + ['--method', 'max']) == 0
    assert '2 fused, 1 already done' in capsys.readouterr().err


# ---------------------------------------------------------------- item 2
def test_outputs_of_other_inputs_are_not_reused(tno42, small_kaist,
                                                tmp_path, capsys):
    vis_a, ir_a = _pair_folders(tno42, tmp_path / 'a')
    vis_b, ir_b = _pair_folders(tno42, tmp_path / 'b', shift=50)
    out = tmp_path / 'out'
    assert _fuse(['--vis', vis_a, '--ir', ir_a, '--out', out,
                  '--method', 'average']) == 0
    first = (out / '01.png').read_bytes()
    argv_b = ['--vis', vis_b, '--ir', ir_b, '--out', out, '--method',
              'average']
    assert _fuse(argv_b) == 2
    err = capsys.readouterr().err
    assert 'inputs:' in err and str(vis_b.resolve()) in err
    assert _fuse(argv_b + ['--overwrite']) == 0
    assert (out / '01.png').read_bytes() != first

    kout = tmp_path / 'kout'
    other = shutil.copytree(small_kaist, tmp_path / 'kaist_copy')
    assert _kaist([small_kaist, kout, '--method', 'max',
                   '--annotations', 'none']) == 0
    assert _kaist([other, kout, '--method', 'max',
                   '--annotations', 'none']) == 2
    assert 'kaist_root' in capsys.readouterr().err


# ---------------------------------------------------------------- item 3
def test_shards_of_different_lists_are_not_one_complete_run(small_kaist,
                                                            tmp_path):
    out = tmp_path / 'out'
    common = [small_kaist, out, '--method', 'max', '--workers', '0',
              '--num-shards', '2']
    assert _kaist(common + ['--image-set', 'imageSets/a.txt',
                            '--shard-id', '1']) == 0
    assert _kaist(common + ['--image-set', 'imageSets/b.txt',
                            '--shard-id', '0']) == 0
    m, lists = _manifest(out), _lists(out)
    # before the fix: one shard of each list merged to complete: true
    assert not m['complete'] and m['counts']['pending'] == 3
    assert lists['a']['shardings'][0]['missing'] == [0]
    assert lists['b']['shardings'][0]['missing'] == [1]
    assert not lists['a']['complete'] and not lists['b']['complete']
    assert _kaist(common + ['--image-set', 'imageSets/a.txt',
                            '--shard-id', '0']) == 0
    assert _kaist(common + ['--image-set', 'imageSets/b.txt',
                            '--shard-id', '1']) == 0
    m = _manifest(out)
    # train and test lists in one root (compare_detection reads both)
    assert m['complete'] and m['counts'] == dict(total=6, done=6, failed=0,
                                                 pending=0)
    assert fuse_kaist.main([str(out), '--merge-only']) == 0


def test_subset_run_keeps_the_full_lists_failures(small_kaist, tmp_path,
                                                  capsys):
    src = shutil.copytree(small_kaist, tmp_path / 'kaist')
    s, v, i = FRAMES[1].split('/')
    bad = next((src / 'images' / s / v / 'visible').glob(i + '.*'))
    bad.write_bytes(bad.read_bytes()[:200])
    _write_list(src, 'good.txt', [FRAMES[0], FRAMES[2]])
    out = tmp_path / 'out'
    assert _kaist([src, out, '--method', 'average', '--image-set',
                   'imageSets/all.txt', '--workers', '0']) == 1
    assert _kaist([src, out, '--method', 'average', '--image-set',
                   'imageSets/good.txt', '--workers', '0']) == 0
    m, lists = _manifest(out), _lists(out)
    # before the fix the subset run replaced the manifest: complete, no
    # failures
    assert not m['complete']
    assert [f['key'] for f in m['failures']] == [FRAMES[1]]
    assert str(bad) in m['failures'][0]['reason']
    assert lists['good']['complete']
    assert lists['all']['counts'] == dict(total=6, done=5, failed=1,
                                          pending=0)
    assert fuse_kaist.main([str(out), '--merge-only']) == 1
    assert 'list all (imageSets/all.txt): 5/6 done, 1 failed' in \
        capsys.readouterr().err


def test_overwrite_with_other_settings_puts_other_lists_out_of_date(
        small_kaist, tmp_path, capsys):
    out = tmp_path / 'out'
    common = [small_kaist, out, '--workers', '0']
    for lst in ('a', 'b'):
        assert _kaist(common + ['--method', 'max', '--image-set',
                                f'imageSets/{lst}.txt']) == 0
    b_max = {p: p.read_bytes() for p in _outputs(out)[3:]}
    assert _kaist(common + ['--method', 'average', '--image-set',
                            'imageSets/a.txt', '--overwrite']) == 0
    m, lists = _manifest(out), _lists(out)
    assert m['settings']['method'] == 'average'
    assert lists['a']['complete']
    # b's images are max fusions: out of date, not done
    assert lists['b']['counts']['pending'] == 3 and not m['complete']
    assert m['replaced_settings']['settings']['method'] == 'max'
    # the old records are kept aside, not merged
    assert list((out / 'manifests' / 'retired').rglob('shard-*.json'))
    assert _kaist(common + ['--method', 'max', '--image-set',
                            'imageSets/b.txt']) == 2
    capsys.readouterr()
    # a plain rerun of b with the new settings fuses b again
    assert _kaist(common + ['--method', 'average', '--image-set',
                            'imageSets/b.txt']) == 0
    assert '3 fused, 0 already done' in capsys.readouterr().err
    assert _manifest(out)['complete']
    assert all(p.read_bytes() != data for p, data in b_max.items())


# ---------------------------------------------------------------- item 4
def test_shipped_weights_are_recorded(tmp_path, monkeypatch, tno42, capsys):
    default = fusion_settings('msfam')
    assert default['checkpoint'] == model_loading.DEFAULT_MSFAM_CHECKPOINT
    assert default['config'] == model_loading.DEFAULT_MSFAM_CONFIG
    assert default['checkpoint_sha256'] == model_loading.file_sha256(
        model_loading.DEFAULT_MSFAM_CHECKPOINT)
    assert default['config_sha256'] is not None
    explicit = fusion_settings('msfam', model_loading.DEFAULT_MSFAM_CONFIG,
                               model_loading.DEFAULT_MSFAM_CHECKPOINT)
    assert settings_conflict(default, explicit) == []

    vis, ir = _pair_folders(tno42, tmp_path / 'in', names=('01',))
    out = tmp_path / 'out'
    argv = ['--vis', vis, '--ir', ir, '--out', out, '--method', 'msfam']
    assert _fuse(argv + ['--shipped-weights']) == 0
    assert _manifest(out)['settings']['checkpoint_sha256'] == \
        default['checkpoint_sha256']
    # the same files named explicitly: same settings, nothing to redo
    assert _fuse(argv + ['--config', model_loading.DEFAULT_MSFAM_CONFIG,
                         '--checkpoint',
                         model_loading.DEFAULT_MSFAM_CHECKPOINT]) == 0
    assert '0 fused, 1 already done' in capsys.readouterr().err
    # a changed shipped file is other weights
    changed = tmp_path / 'shipped.pth'
    changed.write_bytes(Path(model_loading.DEFAULT_MSFAM_CHECKPOINT)
                        .read_bytes() + b'\0')
    monkeypatch.setattr(model_loading, 'DEFAULT_MSFAM_CHECKPOINT',
                        str(changed))
    assert _fuse(argv + ['--shipped-weights']) == 2
    assert 'checkpoint_sha256' in capsys.readouterr().err


@pytest.mark.parametrize('tool', ['fuse', 'fuse_kaist'])
def test_msfam_needs_a_checkpoint_or_shipped_weights(tool, small_kaist,
                                                     tno42, tmp_path,
                                                     capsys):
    """Table 7 fuses with the user's own stage-2 weights: a tool never
    silently falls back to the shipped CPU weights."""
    out = tmp_path / 'out'
    if tool == 'fuse':
        vis, ir = _pair_folders(tno42, tmp_path / 'in', names=('01',))
        run, base = _fuse, ['--vis', vis, '--ir', ir, '--out', out]
    else:
        run, base = _kaist, [small_kaist, out, '--image-set',
                             'imageSets/a.txt']
    base += ['--method', 'msfam', '--workers', '0']
    for extra, message in (
            ([], "needs --checkpoint (your stage-2 checkpoint"),
            (['--config', model_loading.DEFAULT_MSFAM_CONFIG],
             'needs --checkpoint'),
            (['--shipped-weights', '--checkpoint',
              model_loading.DEFAULT_MSFAM_CHECKPOINT], 'exclude each other')):
        assert run(base + extra) == 2
        assert message in capsys.readouterr().err
        assert not out.exists()
    assert run(['--shipped-weights'] + base[:-4] + ['--method', 'average']) \
        == 2
    assert "'average' has no shipped weights" in capsys.readouterr().err
    # --shipped-weights says what they are before fusing with them
    assert run(base + ['--shipped-weights']) == 0
    err = capsys.readouterr().err
    sha = model_loading.file_sha256(model_loading.DEFAULT_MSFAM_CHECKPOINT)
    assert f'{model_loading.DEFAULT_MSFAM_CHECKPOINT} (sha256 {sha})' in err
    assert "not the paper's" in err and 'checkpoints/README.md' in err
    assert _manifest(out)['settings']['checkpoint_sha256'] == sha


# ---------------------------------------------------------------- item 5/6
BAD_ARGS = [
    (['--method', 'laplacian', '--option', 'nope=1'],
     "has no option 'nope'; it accepts: levels"),
    (['--method', 'laplacian', '--option', 'levels=0'], 'levels must be'),
    (['--method', 'average', '--precision', 'fp16'], "'fp16' needs a CUDA"),
    (['--method', 'average', '--config', 'configs/msfam_stage2.py'],
     'needs no config'),
    (['--method', 'nestfuse'], 'needs both a config'),
    (['--method', 'msfam', '--checkpoint', str(REPO / 'README.md')],
     'cannot load checkpoint'),
    (['--method', 'nope'], 'unknown fusion method'),
]
if not torch.cuda.is_available():
    BAD_ARGS.append((['--method', 'average', '--device', 'cuda'],
                     'CUDA is not available'))


@pytest.mark.parametrize('args,message', BAD_ARGS)
def test_bad_arguments_write_nothing(small_kaist, tno42, tmp_path, capsys,
                                     args, message):
    out = tmp_path / 'out'
    assert _kaist([small_kaist, out] + args) == 2
    err = capsys.readouterr().err
    assert message in err and 'Traceback' not in err
    assert not out.exists()  # before the fix: annotations/ were written
    vis, ir = _pair_folders(tno42, tmp_path / 'in', names=('01',))
    assert _fuse(['--vis', vis, '--ir', ir, '--out', out] + args) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_finished_rerun_checks_arguments_without_loading_a_model(
        small_kaist, tmp_path, monkeypatch, capsys):
    cfg = tmp_path / 'tiny.py'
    cfg.write_text("model = dict(type='MSFAMNet', stem_channels=4, "
                   "widths=(4, 4, 4, 4))\n")
    net = model_loading.build_msfam_net(str(cfg))
    ckpt = tmp_path / 'tiny.pth'
    torch.save(net.state_dict(), ckpt)
    out = tmp_path / 'out'
    argv = [small_kaist, out, '--method', 'msfam', '--config', cfg,
            '--checkpoint', ckpt, '--workers', '0']
    assert _kaist(argv) == 0
    from msfam_mm.batch_fusion import runs

    def no_model(*args, **kwargs):
        raise AssertionError('a finished rerun must not build the model')

    monkeypatch.setattr(runs, 'build_fuser', no_model)
    assert _kaist(argv) == 0
    for bad, message in ((['--option', 'nope=1'], "no option 'nope'"),
                         (['--backend', 'torch', '--precision', 'fp16'],
                          "'fp16' needs a CUDA"),
                         (['--backend', 'onnxruntime', '--precision',
                           'bf16'], "cannot run precision 'bf16'"),
                         (['--device', 'nodevice'], 'nodevice')):
        assert _kaist(argv + bad) == 2
        assert message in capsys.readouterr().err


def test_merge_only_and_io_errors(tmp_path, tno42, capsys):
    missing = tmp_path / 'nothing_here'
    assert fuse_kaist.main([str(missing), '--merge-only']) == 2
    assert 'holds no fusing records' in capsys.readouterr().err
    assert not missing.exists()
    vis, ir = _pair_folders(tno42, tmp_path / 'in', names=('01',))
    afile = tmp_path / 'afile'
    afile.write_text('x')
    assert _fuse(['--vis', vis, '--ir', ir, '--out', afile, '--method',
                  'max']) == 2
    err = capsys.readouterr().err
    assert f'--out {afile} exists and is not a folder' in err
    assert 'Traceback' not in err
    # an OS error below OUT is reported by path, exit 2
    (tmp_path / 'out').mkdir()
    (tmp_path / 'out' / 'manifests').write_text('not a folder')
    assert _fuse(['--vis', vis, '--ir', ir, '--out', tmp_path / 'out',
                  '--method', 'max']) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / 'out' / 'manifests') in err and \
        'Traceback' not in err


# ---------------------------------------------------------------- item 7
@pytest.mark.parametrize('umask', [0o022, 0o027], ids=['umask022', 'umask027'])
def test_new_files_get_the_mode_open_would_give(small_kaist, tmp_path,
                                                umask):
    old = os.umask(umask)
    try:
        out = tmp_path / 'out'
        assert _kaist([small_kaist, out, '--method', 'max', '--image-set',
                       'imageSets/a.txt', '--workers', '0']) == 0
    finally:
        os.umask(old)
    files = [p for p in out.rglob('*') if p.is_file()]
    kinds = {p.suffix for p in files}
    assert {'.png', '.json', '.txt'} <= kinds
    assert any(p.parts[-3:-1] == tuple(FRAMES[0].split('/')[:2])
               for p in files if 'annotations' in p.parts)
    for p in files:  # images, manifests, copied annotations and lists
        assert p.stat().st_mode & 0o777 == 0o666 & ~umask, p


# ---------------------------------------------------------------- item 9
@pytest.mark.parametrize('tool', [fuse, fuse_kaist])
def test_every_option_has_help_and_jpeg_quality_is_checked(tool, capsys):
    parser = tool.build_parser()
    assert all(a.help for a in parser._actions), \
        [a.dest for a in parser._actions if not a.help]
    with pytest.raises(SystemExit) as e:
        tool.parse_args(['--jpeg-quality', '101'])
    assert e.value.code == 2
    assert 'must be in 0..100' in capsys.readouterr().err
    assert tool.main(['--list-methods']) == 0
    assert 'laplacian' in capsys.readouterr().out.split()


def test_16bit_inputs_are_refused_per_file(tno42, tmp_path, capsys):
    vis, ir = _pair_folders(tno42, tmp_path / 'in', names=('01', '02'))
    deep = (cv2.imread(str(vis / '02.png'), cv2.IMREAD_UNCHANGED)
            .astype(np.uint16) * 257)
    cv2.imwrite(str(vis / '02.png'), deep)
    out = tmp_path / 'out'
    assert _fuse(['--vis', vis, '--ir', ir, '--out', out,
                  '--method', 'average']) == 1
    err = capsys.readouterr().err
    assert f'FAILED 02: {vis / "02.png"}: expected 8-bit' in err
    assert 'uint16' in err and (out / '01.png').is_file()
