"""ClassifierAccuracyMetric: the Semantic Constraint classifier's multi-label
accuracy, overall and per band."""
import pytest
import torch

from msfam_mm.evaluation.classification import (ClassifierAccuracyMetric,
                                                multilabel_accuracy)


# builds configs (pipelines, data preprocessors, optim wrappers) in the
# configs' scope, as the Runner does
pytestmark = pytest.mark.usefixtures('msfam_mm_scope')


# ---------------------------------------------------------------- metric --
def test_classifier_accuracy_metric():
    scores = torch.tensor([[.9, .1], [.2, .8], [.7, .6], [.7, .2]])
    labels = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [1., 1.]])
    acc = multilabel_accuracy(scores, labels)
    # the fourth image, fused, is taken for visible: 1 of 2 fused right
    assert acc == dict(accuracy=75.0, accuracy_vis=100.0, accuracy_ir=75.0,
                       accuracy_on_visible=100.0, accuracy_on_infrared=100.0,
                       accuracy_on_fused=50.0)
    # kinds without images are left out
    assert set(multilabel_accuracy(scores[:2], labels[:2])) == {
        'accuracy', 'accuracy_vis', 'accuracy_ir', 'accuracy_on_visible',
        'accuracy_on_infrared'}
    metric = ClassifierAccuracyMetric()
    metric.process({}, [dict(pred_score=s, gt_label=t)
                        for s, t in zip(scores, labels)])
    assert metric.compute_metrics(metric.results)['accuracy'] == 75.0
    with pytest.raises(ValueError, match='gt_label'):
        metric.process({}, [dict(pred_score=scores[0], gt_label=None)])
