"""Tests of tools/eval_fusion.py on real TNO pairs and published fusions."""
import csv
import importlib.util
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from msfam_mm.evaluation.fusion_metrics import evaluate_fusion
from msfam_mm.evaluation.fusion_metrics.folder_scores import read_image_rgb

STEMS = ('01', '05', '10')


@pytest.fixture(scope='module')
def cli(repo_root):
    spec = importlib.util.spec_from_file_location(
        'eval_fusion_cli', repo_root / 'tools' / 'eval_fusion.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture()
def tno_subset(tmp_path, tno42, tno42_fusions):
    """3 TNO pairs and 2 published methods in a scratch folder: symlinks,
    except FusionGAN, copied losslessly as .bmp to test pairing by name
    across extensions."""
    root = tmp_path / 'data'
    for sub in ('vi', 'ir', 'DenseFuse', 'FusionGAN'):
        (root / sub).mkdir(parents=True)
    for s in STEMS:
        for sub in ('vi', 'ir'):
            os.symlink(tno42 / sub / f'{s}.png', root / sub / f'{s}.png')
        os.symlink(tno42_fusions / 'DenseFuse' / f'{s}.png',
                   root / 'DenseFuse' / f'{s}.png')
        img = cv2.imread(str(tno42_fusions / 'FusionGAN' / f'{s}.png'),
                         cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(root / 'FusionGAN' / f'{s}.bmp'), img)  # lossless
    return root


def _args(root, out, *extra):
    return ['--vis', str(root / 'vi'), '--ir', str(root / 'ir'),
            '--fused', f'DenseFuse={root / "DenseFuse"}',
            '--fused', f'FusionGAN={root / "FusionGAN"}',
            '--out', str(out), '--no-progress', *extra]


def _assert_ranked_without(table, rows, method, stem):
    """The Markdown summary row of ``method`` counts 2 images and its EN
    is the mean ± std of its CSV rows other than ``stem``."""
    line = next(x for x in table.splitlines() if x.startswith(f'| {method}'))
    cells = [c.strip() for c in line.strip('|').split('|')]
    en = [float(r['EN']) for r in rows
          if r['method'] == method and r['image'] != stem]
    assert cells[1] == '2'
    assert f'{np.mean(en):.4f} ± {np.std(en, ddof=1):.4f}' in cells[2]


def _read_rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_cli_writes_rows_and_summary_matching_the_library(cli, tno_subset,
                                                          tmp_path, tno42,
                                                          capsys):
    out = tmp_path / 'res' / 'metrics.csv'
    md = tmp_path / 'res' / 'table.md'
    rc = cli.main(_args(tno_subset, out, '--markdown', str(md),
                        '--metrics', 'EN,MI,Qabf,VIF'))
    assert rc == 0
    rows = _read_rows(out)
    assert [(r['method'], r['image']) for r in rows] == [
        (m, s) for m in ('DenseFuse', 'FusionGAN') for s in STEMS]
    assert list(rows[0]) == ['method', 'image', 'EN', 'MI', 'MI_V', 'MI_I',
                             'Qabf', 'Qabf_V', 'Qabf_I', 'VIF', 'VIF_V',
                             'VIF_I']
    # Same values as the library on the same files.
    r = rows[0]
    vis = read_image_rgb(tno_subset / 'vi' / '01.png')
    ir = read_image_rgb(tno_subset / 'ir' / '01.png')
    fused = read_image_rgb(tno_subset / 'DenseFuse' / '01.png')
    ref = evaluate_fusion(fused, vis, ir, metrics=['EN', 'MI', 'Qabf', 'VIF'])
    for k, v in ref.items():
        assert float(r[k]) == pytest.approx(v, rel=1e-12), k
    # Summary: FusionGAN's blurred edges lose on Qabf and VIF, so DenseFuse
    # is marked best in those columns.
    table = md.read_text()
    dense = next(line for line in table.splitlines()
                 if line.startswith('| DenseFuse'))
    cells = [c.strip() for c in dense.strip('|').split('|')]
    assert cells[1] == '3'
    assert cells[4].startswith('**') and cells[5].startswith('**')
    q = [float(x['Qabf']) for x in rows if x['method'] == 'DenseFuse']
    assert f'{np.mean(q):.4f} ± {np.std(q, ddof=1):.4f}' in cells[4]
    printed = capsys.readouterr().out
    assert 'DenseFuse' in printed and 'wrote 6 rows' in printed


def test_cli_parallel_workers_give_identical_results(cli, tno_subset,
                                                     tmp_path):
    a, b = tmp_path / 'a.csv', tmp_path / 'b.csv'
    assert cli.main(_args(tno_subset, a, '--metrics', 'EN,SCD,CC')) == 0
    assert cli.main(_args(tno_subset, b, '--metrics', 'EN,SCD,CC',
                          '--workers', '2')) == 0
    assert a.read_text() == b.read_text()


def test_cli_bad_image_is_skipped_and_reported_by_name(cli, tno_subset,
                                                      tmp_path, capsys):
    """A size mismatch is a per-image error: that image is skipped with its
    method, stem and files named, the rest are scored and written (exit 1),
    and the summary compares the methods on the images common to all."""
    bad = tno_subset / 'DenseFuse' / '05.png'
    bad.unlink()
    cv2.imwrite(str(bad), np.zeros((20, 30), np.uint8))
    out = tmp_path / 'out.csv'
    md = tmp_path / 'out.md'
    out.write_text('previous results\n')
    rc = cli.main(_args(tno_subset, out, '--metrics', 'EN',
                        '--markdown', str(md)))
    assert rc == 1
    err = capsys.readouterr().err
    assert 'size mismatch' in err and str(bad) in err
    assert "DenseFuse" in err and "'05'" in err
    assert '1 of 6 image(s) could not be scored' in err
    rows = _read_rows(out)
    assert [(r['method'], r['image']) for r in rows] == [
        ('DenseFuse', '01'), ('DenseFuse', '10'),
        ('FusionGAN', '01'), ('FusionGAN', '05'), ('FusionGAN', '10')]
    # FusionGAN's 05 is in the CSV but not in the ranked summary
    table = md.read_text()
    _assert_ranked_without(table, rows, 'FusionGAN', '05')
    assert 'the 2 image(s) scored for every method' in table
    assert not [p for p in tmp_path.iterdir() if p.name.endswith('.tmp')]


def test_cli_truncated_jpeg_is_an_error_naming_the_file(cli, tno_subset,
                                                        tmp_path, capsys):
    """libjpeg decodes a truncated JPEG with only a warning (grey fill);
    it must not be scored as if it were whole."""
    src = cv2.imread(str(tno_subset / 'DenseFuse' / '10.png'),
                     cv2.IMREAD_UNCHANGED)
    (tno_subset / 'DenseFuse' / '10.png').unlink()
    ok, buf = cv2.imencode('.jpg', src)
    assert ok
    bad = tno_subset / 'DenseFuse' / '10.jpg'
    bad.write_bytes(buf.tobytes()[:len(buf) // 2])
    out = tmp_path / 'out.csv'
    assert cli.main(_args(tno_subset, out, '--metrics', 'EN')) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and 'truncated' in err
    assert ('DenseFuse', '10') not in [(r['method'], r['image'])
                                       for r in _read_rows(out)]


def test_cli_image_too_small_for_ssim_names_method_stem_and_files(
        cli, tno_subset, tmp_path, capsys):
    """An 8x8 triple cannot hold SSIM's 11x11 window: both methods skip
    that stem, the error names it, the rest is written."""
    for sub in ('vi', 'ir', 'DenseFuse'):
        p = tno_subset / sub / '05.png'
        img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        p.unlink()  # a symlink into the shared data: replace, never write
        cv2.imwrite(str(p), img[:8, :8])
    gan = tno_subset / 'FusionGAN' / '05.bmp'
    cv2.imwrite(str(gan), cv2.imread(str(gan), cv2.IMREAD_UNCHANGED)[:8, :8])
    out = tmp_path / 'out.csv'
    rc = cli.main(_args(tno_subset, out, '--metrics', 'EN,MI,SSIM'))
    assert rc == 1
    err = capsys.readouterr().err
    assert '11x11 window' in err
    assert 'ms_ssim_index' not in err  # MS-SSIM was not asked for
    for method, fused in (('DenseFuse', tno_subset / 'DenseFuse' / '05.png'),
                          ('FusionGAN', gan)):
        line = next(x for x in err.splitlines() if str(fused) in x)
        assert method in line and "'05'" in line
        assert str(tno_subset / 'vi' / '05.png') in line
    assert len(_read_rows(out)) == 4


def test_cli_nothing_scored_writes_nothing(cli, tno_subset, tmp_path,
                                           capsys):
    for p in list((tno_subset / "DenseFuse").iterdir()):
        p.unlink()
        cv2.imwrite(str(p), np.zeros((20, 30), np.uint8))
    out = tmp_path / 'out.csv'
    argv = ['--vis', str(tno_subset / 'vi'), '--ir', str(tno_subset / 'ir'),
            '--fused', f'DenseFuse={tno_subset / "DenseFuse"}',
            '--out', str(out), '--no-progress', '--metrics', 'EN']
    assert cli.main(argv) == 2
    assert 'no image could be scored' in capsys.readouterr().err
    assert not out.exists()


def test_cli_methods_missing_images_are_ranked_on_common_images(
        cli, tno_subset, tmp_path, capsys):
    """A method without a fused image for some pair is not ranked against
    methods scored on more images: the summary uses the common ones."""
    (tno_subset / 'FusionGAN' / '01.bmp').unlink()
    out, md = tmp_path / 'o.csv', tmp_path / 'o.md'
    assert cli.main(_args(tno_subset, out, '--metrics', 'EN,CC',
                          '--markdown', str(md))) == 1  # some not scored
    captured = capsys.readouterr()
    assert 'no fused image' in captured.err
    rows = _read_rows(out)
    assert len(rows) == 5  # every scored image is in the CSV
    table = md.read_text()
    _assert_ranked_without(table, rows, 'DenseFuse', '01')
    assert 'DenseFuse 3, FusionGAN 2' in table
    assert 'DenseFuse 3, FusionGAN 2' in captured.out


def test_cli_rejects_unpaired_and_malformed_inputs(cli, tno_subset, tmp_path,
                                                   capsys):
    out = tmp_path / 'o.csv'
    (tno_subset / 'ir' / '01.png').unlink()
    assert cli.main(_args(tno_subset, out)) == 2
    assert "only in" in capsys.readouterr().err and not out.exists()
    assert cli.main(['--vis', str(tno_subset / 'vi'), '--ir',
                     str(tno_subset / 'vi'), '--fused', 'nodir',
                     '--out', str(out), '--no-progress']) == 2
    assert 'NAME=DIR' in capsys.readouterr().err
    assert cli.main(['--vis', str(tno_subset / 'vi'), '--ir',
                     str(tno_subset / 'vi'), '--fused',
                     f'X={tno_subset / "DenseFuse"}', '--metrics', 'EN,FOO',
                     '--out', str(out), '--no-progress']) == 2
    assert 'unknown fusion metric' in capsys.readouterr().err


def test_cli_runs_as_a_script(repo_root, tno_subset, tmp_path):
    out = tmp_path / 'script.csv'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, str(repo_root / 'tools' / 'eval_fusion.py'),
         *_args(tno_subset, out, '--metrics', 'EN,CC')],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(_read_rows(out)) == 6
