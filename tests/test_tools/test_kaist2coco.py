"""tools/kaist2coco.py on the real improved KAIST test annotations."""
import collections
import json

import pytest

from msfam_mm.datasets.kaist import (coco_to_kaist_frames, frame_to_img_id,
                                     load_bbgt)


# pipelines are built in the mmdet scope
pytestmark = pytest.mark.usefixtures('mmdet_scope')


def test_kaist2coco_tool_on_improved_annotations(kaist_improved_annotations,
                                                 kaist_improved_counts,
                                                 tmp_path, repo_root, capsys,
                                                 load_tool):
    tool = load_tool('kaist2coco')
    out = tmp_path / 'test-all-20.json'
    assert tool.main([str(kaist_improved_annotations), '--image-set',
                      'imageSets/test-all-20.txt', '--out', str(out)]) == 0
    assert '2252 frames, 4254 boxes (864 ignore regions)' in \
        capsys.readouterr().out
    # bad input: a clear error, exit code 2, and no output file
    bad = tmp_path / 'bad.json'
    assert tool.main([str(kaist_improved_annotations), '--image-set',
                      'imageSets/nope.txt', '--out', str(bad)]) == 2
    assert 'nope.txt does not exist' in capsys.readouterr().err
    assert not bad.exists()
    coco = json.loads(out.read_text())
    assert len(coco['images']) == kaist_improved_counts['frames']
    assert coco['categories'] == [dict(id=1, name='person',
                                       supercategory='person')]
    labels = collections.Counter(a['kaist_label']
                                 for a in coco['annotations'])
    assert dict(labels) == kaist_improved_counts['labels']
    for a in coco['annotations']:
        assert a['iscrowd'] == int(a['kaist_label'] != 'person')
        assert a['height'] == a['bbox'][3] and 'occlusion' in a
        assert 'ignore' not in a  # mmdet would drop the box entirely
    assert {i['id'] for i in coco['images']} == {
        frame_to_img_id(i['frame_id']) for i in coco['images']}
    # the json reads back to the same objects
    back = coco_to_kaist_frames(coco)
    frame = 'set08/V001/I02579'
    objs = load_bbgt(str(kaist_improved_annotations / 'annotations' /
                         (frame + '.txt')))
    assert back[frame_to_img_id(frame)][2] == objs
