"""KAIST <-> COCO conversion (msfam_mm.datasets.kaist.coco_format)."""
import pytest


# pipelines are built in the mmdet scope
pytestmark = pytest.mark.usefixtures('mmdet_scope')


def test_plain_coco_without_occlusion_warns_by_name():
    """A COCO json from elsewhere has no KAIST occlusion level: its persons
    count as unoccluded, which biases MR^-2, so the loader says so."""
    import warnings
    from msfam_mm.datasets.kaist.coco_format import coco_to_kaist_frames
    coco = dict(images=[dict(id=1, width=640, height=512)],
                annotations=[dict(id=1, image_id=1, bbox=[10, 10, 30, 80],
                                  iscrowd=0)])
    with pytest.warns(UserWarning, match='other.json: person annotations '
                                         'carry no KAIST occlusion'):
        frames = coco_to_kaist_frames(coco, 'other.json')
    assert frames[1][2][0].occlusion == 0
    coco['annotations'][0]['occlusion'] = 2
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        frames = coco_to_kaist_frames(coco, 'kaist.json')
    assert frames[1][2][0].occlusion == 2
