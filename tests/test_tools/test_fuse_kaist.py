"""tools/fuse_kaist.py on a KAIST-layout input (the ``toy_kaist`` fixture:
13 pairs, 640x512, PNG and JPEG, 3-channel lwir, like the real sample):
layout, resumption, hard kill, bad inputs, colour, sharding, learned
method."""
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from msfam_mm.utils import is_temp_file, read_image

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'fuse_kaist.py'
sys.path.insert(0, str(REPO / 'tools'))

import fuse_kaist  # noqa: E402
from kill_switch import run_killed_after  # noqa: E402


def _run(argv):
    return fuse_kaist.main([str(a) for a in argv] + ['--no-progress'])


def _outputs(root, modality='fused'):
    return sorted(p.relative_to(root) for p in
                  (Path(root) / 'images').glob(f'*/*/{modality}/*'))


def _digest(root, modality='fused'):
    return {str(p): hashlib.sha256((Path(root) / p).read_bytes()).hexdigest()
            for p in _outputs(root, modality)}


def _shard_manifests(root):
    return sorted(Path(root).glob('manifests/*/shard-*.json'))


def _frames(kaist_root):
    return [line.strip() for line in
            (Path(kaist_root) / 'imageSets' / 'sample-all.txt').read_text()
            .splitlines() if line.strip()]


def _copy_kaist(src, dst, frames):
    """A KAIST-layout copy of some frames (tests may damage it)."""
    for fid in frames:
        s, v, i = fid.split('/')
        for mod in ('visible', 'lwir'):
            for f in (src / 'images' / s / v / mod).glob(i + '.*'):
                d = dst / 'images' / s / v / mod / f.name
                d.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(f, d)
        a = src / 'annotations' / s / v / (i + '.txt')
        (dst / 'annotations' / s / v).mkdir(parents=True, exist_ok=True)
        shutil.copy(a, dst / 'annotations' / s / v / a.name)
    (dst / 'imageSets').mkdir(exist_ok=True)
    (dst / 'imageSets' / 'part.txt').write_text('\n'.join(frames) + '\n')
    return dst


@pytest.fixture(scope='module')
def clean_run(toy_kaist, tmp_path_factory):
    out = tmp_path_factory.mktemp('clean') / 'out'
    assert _run([toy_kaist, out, '--method', 'laplacian',
                 '--workers', '1']) == 0
    return out


def test_layout_sizes_and_manifest(clean_run, toy_kaist):
    frames = _frames(toy_kaist)
    outs = _outputs(clean_run)
    assert [str(p) for p in outs] == [
        f"images/{f.rsplit('/', 1)[0]}/fused/{f.rsplit('/', 1)[1]}.png"
        for f in frames]
    for p in outs:
        img = cv2.imread(str(clean_run / p), cv2.IMREAD_UNCHANGED)
        assert img.shape == (512, 640) and img.dtype == np.uint8
    # annotations and image sets apply unchanged
    for f in frames:
        assert (clean_run / 'annotations' / (f + '.txt')).read_bytes() == \
            (toy_kaist / 'annotations' / (f + '.txt')).read_bytes()
    assert (clean_run / 'imageSets' / 'sample-all.txt').is_file()
    m = json.loads((clean_run / 'manifest.json').read_text())
    assert m['complete'] and m['counts']['total'] == 13
    assert m['counts']['failed'] == 0 and m['settings']['method'] == \
        'laplacian'
    assert [(l['name'], l['complete']) for l in m['lists']] == \
        [('all-frames', True)]
    shard = json.loads(_shard_manifests(clean_run)[0].read_text())
    assert shard['status'] == 'finished'
    assert shard['counts']['fused'] == 13
    assert shard['timings']['frames_per_s'] > 0
    assert 'torch' in shard['versions']


def test_second_run_does_no_work(clean_run, toy_kaist):
    before = {p: (clean_run / p).stat().st_mtime_ns
              for p in _outputs(clean_run)}
    assert _run([toy_kaist, clean_run, '--method', 'laplacian']) == 0
    after = {p: (clean_run / p).stat().st_mtime_ns
             for p in _outputs(clean_run)}
    assert before == after
    shard = json.loads(_shard_manifests(clean_run)[0].read_text())
    assert shard['counts']['fused'] == 0
    assert shard['counts']['skipped_existing'] == 13


def test_killed_run_then_rerun_equals_clean_run(toy_kaist, clean_run,
                                                tmp_path):
    out = tmp_path / 'out'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = run_killed_after(
        4, TOOL, [toy_kaist, out, '--method', 'laplacian', '--workers',
                  '1', '--no-progress'],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr  # SIGKILL, mid-run
    partial = _outputs(out)
    assert 4 <= len(partial) < 13
    for p in partial:  # whatever exists is a whole image
        read_image(out / p)
    # the killed run is on record: unfinished, set not complete
    m = json.loads((out / 'manifest.json').read_text())
    assert not m['complete'] and m['lists'][0]['shardings'][0][
        'unfinished'] == [0]
    assert json.loads(_shard_manifests(out)[0].read_text())['status'] == \
        'unfinished'
    assert _run([toy_kaist, out, '--method', 'laplacian']) == 0
    assert _digest(out) == _digest(clean_run)  # byte-identical
    leftovers = [n for _, _, files in os.walk(out) for n in files
                 if is_temp_file(n)]
    assert leftovers == []


def test_corrupt_and_missing_inputs_are_reported(toy_kaist, tmp_path,
                                                 capsys):
    frames = _frames(toy_kaist)[:4]
    src = _copy_kaist(toy_kaist, tmp_path / 'kaist', frames)
    # truncate one visible JPEG, delete one lwir counterpart
    s, v, i = frames[1].split('/')  # set00/V000/I00003 (jpg)
    bad = src / 'images' / s / v / 'visible' / f'{i}.jpg'
    bad.write_bytes(bad.read_bytes()[:4000])
    s2, v2, i2 = frames[2].split('/')
    gone = next((src / 'images' / s2 / v2 / 'lwir').glob(i2 + '.*'))
    gone.unlink()
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest()
              for p in src.rglob('*') if p.is_file()}
    out = tmp_path / 'out'
    assert _run([src, out, '--method', 'average', '--image-set',
                 'imageSets/part.txt', '--workers', '0']) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and 'truncated' in err
    assert 'missing lwir' in err and f'{s2}/{v2}/lwir/{i2}' in err
    done = [str(p) for p in _outputs(out)]
    assert len(done) == 2
    assert not any(frames[1].split('/')[-1] in d or
                   frames[2].split('/')[-1] in d for d in done)
    m = json.loads((out / 'manifest.json').read_text())
    assert m['counts']['failed'] == 2 and not m['complete']
    assert {f['key'] for f in m['failures']} == {frames[1], frames[2]}
    # sources are never modified
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest()
             for p in src.rglob('*') if p.is_file()}
    assert before == after


def test_colour_mode(toy_kaist, tmp_path):
    frames = _frames(toy_kaist)[:2]
    src = _copy_kaist(toy_kaist, tmp_path / 'kaist', frames)
    out = tmp_path / 'out'
    assert _run([src, out, '--method', 'max', '--color', '--workers', '0',
                 '--ext', 'jpg', '--modality', 'fused_max',
                 '--annotations', 'link']) == 0
    outs = _outputs(out, 'fused_max')
    assert len(outs) == 2 and all(p.suffix == '.jpg' for p in outs)
    for p in outs:
        img = cv2.imread(str(out / p), cv2.IMREAD_UNCHANGED)
        assert img.shape == (512, 640, 3)
        # colour survives: the visible frames are not grey
        assert np.abs(img[..., 0].astype(int) - img[..., 2]).mean() > 1
    assert (out / 'annotations').is_symlink()


def test_shards_into_one_root_equal_clean_run(toy_kaist, clean_run,
                                              tmp_path, capsys):
    out = tmp_path / 'out'
    args = [toy_kaist, out, '--method', 'laplacian', '--workers', '0',
            '--num-shards', '2']
    assert _run(args + ['--shard-id', '1']) == 0
    m = json.loads((out / 'manifest.json').read_text())
    assert m['lists'][0]['shardings'][0]['missing'] == [0]
    assert not m['complete'] and m['counts']['pending'] == 7
    assert len(_outputs(out)) == 6  # frames 1, 3, 5, ... of 13
    assert _run(args + ['--shard-id', '0']) == 0
    m = json.loads((out / 'manifest.json').read_text())
    assert m['complete'] and m['counts']['done'] == 13
    assert m['lists'][0]['shardings'][0]['finished'] == [0, 1]
    assert _digest(out) == _digest(clean_run)
    assert fuse_kaist.main([str(out), '--merge-only']) == 0


def test_refuses_mixed_settings_and_writing_into_source(toy_kaist,
                                                        clean_run, capsys):
    assert _run([toy_kaist, clean_run, '--method', 'average']) == 2
    assert 'other settings' in capsys.readouterr().err
    assert _run([toy_kaist, toy_kaist / 'fused_out', '--method',
                 'average']) == 2
    assert 'inside KAIST_ROOT' in capsys.readouterr().err
    assert not (toy_kaist / 'fused_out').exists()


def test_learned_method_batched(toy_kaist, tmp_path):
    """msfam from a config + random-init checkpoint (independent of the
    shipped weights); tiny widths keep it fast on 640x512."""
    from msfam_mm.apis.model_loading import build_msfam_net
    cfg = tmp_path / 'tiny.py'
    cfg.write_text("model = dict(type='MSFAMFusion', net=dict("
                   "type='MSFAMNet', stem_channels=4, widths=(4, 4, 4, 4)))\n")
    torch.manual_seed(0)
    net = build_msfam_net(str(cfg))
    ckpt = tmp_path / 'tiny.pth'
    torch.save(dict(state_dict={f'net.{k}': v for k, v in
                                net.state_dict().items()}), ckpt)
    frames = _frames(toy_kaist)[:3]
    src = _copy_kaist(toy_kaist, tmp_path / 'kaist', frames)
    out = tmp_path / 'out'
    assert _run([src, out, '--method', 'msfam', '--config', cfg,
                 '--checkpoint', ckpt, '--batch-size', '2',
                 '--workers', '1']) == 0
    outs = _outputs(out)
    assert len(outs) == 3
    m = json.loads((out / 'manifest.json').read_text())
    assert m['settings']['checkpoint_sha256'] == hashlib.sha256(
        ckpt.read_bytes()).hexdigest()
    assert m['settings']['normalize'] == 'minmax'
    for p in outs:
        img = cv2.imread(str(out / p), cv2.IMREAD_UNCHANGED)
        assert img.shape == (512, 640) and img.min() == 0 and \
            img.max() == 255
