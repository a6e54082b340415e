"""tools/fuse.py on folders of real TNO pairs: outputs, a missing
counterpart reported by name, reruns and refused settings."""
import shutil

import cv2


def test_fuse_tool_on_folders(tmp_path, tno42, capsys, load_tool):
    fuse = load_tool('fuse')
    vis_dir, ir_dir = tmp_path / 'vi', tmp_path / 'ir'
    vis_dir.mkdir()
    ir_dir.mkdir()
    for name in ('01.png', '02.png', '03.png'):
        shutil.copy(tno42 / 'vi' / name, vis_dir / name)
        shutil.copy(tno42 / 'ir' / name, ir_dir / name)
    (ir_dir / '03.png').unlink()  # missing counterpart
    out = tmp_path / 'out'
    argv = ['--vis', str(vis_dir), '--ir', str(ir_dir), '--out', str(out),
            '--method', 'laplacian', '--workers', '0', '--no-progress']
    assert fuse.main(argv) == 1
    err = capsys.readouterr().err
    assert 'FAILED 03' in err and str(ir_dir / '03') in err
    for name in ('01.png', '02.png'):
        fused = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        src = cv2.imread(str(tno42 / 'vi' / name), cv2.IMREAD_UNCHANGED)
        assert fused.shape == src.shape[:2]
    assert not (out / '03.png').exists()
    assert (out / 'manifest.json').is_file()
    # rerun: nothing left to do but the failure is still reported
    assert fuse.main(argv) == 1
    assert '0 fused, 2 already done, 1 failed' in capsys.readouterr().err
    # other settings into the same folder are refused
    assert fuse.main(argv[:-4] + ['average', '--no-progress']) == 2
    assert 'other settings' in capsys.readouterr().err
