"""msfam_mm.utils.atomic_io: whole files only, with the mode open() gives.

Every writer of results uses it (fusing tools, eval_fusion, kaist2coco,
eval_kaist, the split writer, make_report's cache, export_weights)."""
import os
from collections import OrderedDict

import pytest
import torch

from msfam_mm.datasets.fusion.split import write_pair_list
from msfam_mm.utils import write_bytes_atomic, write_text_atomic


@pytest.fixture(params=[0o022, 0o027])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_written_files_get_the_mode_open_would_give(umask, tmp_path):
    write_text_atomic(tmp_path / 'a' / 'table.md', 'x\n')
    write_bytes_atomic(tmp_path / 'b.bin', b'\x00\x01')
    write_pair_list([('v/1.png', 'i/1.png')], str(tmp_path / 'split.txt'),
                    header='a split')
    with open(tmp_path / 'plain.txt', 'w') as f:
        f.write('reference')
    expected = (tmp_path / 'plain.txt').stat().st_mode & 0o777
    assert expected == 0o666 & ~umask
    for name in ('a/table.md', 'b.bin', 'split.txt'):
        assert (tmp_path / name).stat().st_mode & 0o777 == expected, name
    assert (tmp_path / 'split.txt').read_text().endswith('v/1.png i/1.png\n')
    # nothing left behind
    assert sorted(p.name for p in tmp_path.rglob('.*')) == []


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path,
                                                          monkeypatch):
    target = tmp_path / 'result.json'
    write_text_atomic(target, 'old')

    def failing_replace(src, dst):
        raise OSError('disk full')
    monkeypatch.setattr(os, 'replace', failing_replace)
    with pytest.raises(OSError, match='disk full'):
        write_text_atomic(target, 'new')
    assert target.read_text() == 'old'
    assert [p.name for p in tmp_path.iterdir()] == ['result.json']


def test_exported_weights_get_the_mode_open_would_give(umask, tmp_path,
                                                       load_tool):
    tool = load_tool('export_weights')
    path = str(tmp_path / 'w_fp16.pth')
    tool.save_all_atomic({path: OrderedDict(w=torch.ones(2))})
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
    assert torch.equal(torch.load(path, weights_only=True)['w'],
                       torch.ones(2))
