"""companion/evaluate.py: loss and accuracy, predicted digits, the confusion matrix."""

import pytest
import torch

from companion.evaluate import confusion_matrix, evaluate, predict_labels, scores
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


@pytest.mark.parametrize("y_true, y_pred, words", [
    ([0.0, 1.0], [0, 1], "y_true of dtype torch.float32"),
    ([0, 1], [0.5, 1.0], "y_pred of dtype torch.float32"),
    ([0, 10], [0, 1], "y_true from 0 to 10: expected classes 0..9"),
    ([-1, 1], [0, 1], "y_true from -1 to 1"),
    ([True, False], [0, 1], "dtype torch.bool"),
    ([[0, 1]], [[0, 1]], "equal-length 1-D"),
])
def test_confusion_matrix_refuses_what_are_not_classes(y_true, y_pred, words):
    with pytest.raises(ValueError, match=words):
        confusion_matrix(torch.tensor(y_true), torch.tensor(y_pred))


def test_scores_on_the_cpu_hand_the_model_back_as_it_came(tiny):
    x = tiny[0][:40]
    model = make_model("fixed", seed=0).train()
    before = {name: (p, p.data, p.stride()) for name, p in model.named_parameters()}
    with torch.no_grad():
        model.eval()
        plain = model(x)
        model.train()
    s = scores(model, x, batch_size=16)
    assert model.training  # its mode is put back
    for name, p in model.named_parameters():  # the same tensors, laid out as before
        param, data, stride = before[name]
        assert p is param and p.data.data_ptr() == data.data_ptr() and p.stride() == stride
    assert (s - plain).abs().max().item() < 1e-5 and torch.equal(s.argmax(1), plain.argmax(1))


def test_confusion_matrix_classes_and_numpy_labels():
    import numpy as np

    assert confusion_matrix(np.array([0, 2]), np.array([0, 2]), classes=3).trace() == 2
    with pytest.raises(ValueError, match="classes=0"):
        confusion_matrix([0], [0], classes=0)
    with pytest.raises(ValueError, match="expected classes 0..2"):
        confusion_matrix([0, 3], [0, 1], classes=3)


def test_images_in_0_255_are_refused_with_what_to_do(tiny):
    _, _, xt, yt = tiny
    model = make_model()
    pixels = (xt * 255).round()
    for x in (pixels, pixels.to(torch.uint8)):
        for run in (lambda x: evaluate(model, x, yt), lambda x: predict_labels(model, x)):
            with pytest.raises(ValueError, match="divide by 255"):
                run(x)
    with pytest.raises(ValueError, match="y from 0 to 10"):
        evaluate(model, xt[:2], torch.tensor([0, 10]))
    with pytest.raises(ValueError, match=r"y of shape \(3,\): expected \(2,\)"):
        evaluate(model, xt[:2], torch.tensor([0, 1, 2]))
    loss, acc = evaluate(model, xt[:0], yt[:0])
    assert loss != loss and acc != acc  # nan: no images, no score


def test_a_model_without_parameters_is_named():
    from companion.evaluate import model_device

    with pytest.raises(ValueError, match="ReLU has no parameters"):
        model_device(torch.nn.ReLU())
    with pytest.raises(TypeError, match="model='model' must be an nn.Module"):
        model_device("model")
