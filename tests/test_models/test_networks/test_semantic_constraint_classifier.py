"""SemanticConstraintClassifier: the paper's structure, its variants and the
probabilities it outputs."""
import pytest
import torch

from msfam_mm.models.networks import SemanticConstraintClassifier


# ----------------------------------------------------------- classifier ---
@pytest.mark.parametrize('hw', [(1, 1), (17, 23), (256, 320), (291, 397)])
def test_classifier_probabilities(hw):
    torch.manual_seed(6)
    clf = SemanticConstraintClassifier().eval()
    x = torch.rand(3, 1, *hw)
    with torch.no_grad():
        p = clf(x)
        logits = clf.forward_logits(x)
    assert p.shape == (3, 2)
    assert ((p > 0) & (p < 1)).all()
    torch.testing.assert_close(p, torch.sigmoid(logits))


def test_classifier_structure():
    clf = SemanticConstraintClassifier()
    convs = [m for m in clf.modules() if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in clf.modules() if isinstance(m, torch.nn.Linear)]
    assert len(convs) == 4 and len(linears) == 1  # Section 3.5
    assert linears[0].out_features == 2


@pytest.mark.parametrize('kwargs', [dict(kernel_size=5), dict(pool='max')])
def test_classifier_variants_keep_the_papers_structure(kwargs):
    """The variants of docs/training.md change kernels or pooling, not the
    four-conv + one-FC structure (Section 3.5) or the output."""
    torch.manual_seed(0)
    clf = SemanticConstraintClassifier(**kwargs).eval()
    convs = [m for m in clf.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4
    assert all(c.kernel_size == (kwargs.get('kernel_size', 3), ) * 2
               for c in convs)
    x = torch.rand(2, 1, 37, 53)
    with torch.no_grad():
        assert clf(x).shape == (2, 2)
    if 'pool' in kwargs:
        # max pooling: the FC sees each feature map's strongest response
        feats = clf.features(x)
        torch.testing.assert_close(
            clf.forward_logits(x),
            clf.fc(feats.amax((2, 3))))


@pytest.mark.parametrize('kwargs, match', [
    (dict(kernel_size=4), 'odd'), (dict(pool='sum'), 'pool must be')])
def test_classifier_rejects_bad_variants(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SemanticConstraintClassifier(**kwargs)
