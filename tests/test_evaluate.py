"""companion/evaluate.py: loss and accuracy, predicted digits, the confusion matrix."""

import pytest
import torch

from companion.evaluate import confusion_matrix, evaluate, predict_labels
from companion.model import make_model


def test_evaluate_predict_and_confusion(tiny):
    _, _, xt, yt = tiny
    model = make_model()
    loss, acc = evaluate(model, xt, yt)
    pred = predict_labels(model, xt)
    assert pred.shape == yt.shape and acc == pytest.approx((pred == yt).float().mean().item())
    assert loss > 0
    m = confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 2, 1, 2]), classes=3)
    assert m.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    cm = confusion_matrix(yt, pred)
    assert cm.sum() == len(yt) and cm.trace() == (pred == yt).sum()
    with pytest.raises(ValueError, match="equal-length"):
        confusion_matrix(yt, pred[:-1])
