import warnings

import pytest
import torch
from torch import nn

from companion import DigitRecognizer, DigitRecognizerFixed, build_model, count_params
from companion.evaluate import prepare_images
from companion.model import features, head, make_model


def test_note_model_layers_exactly_as_written():
    m = DigitRecognizer()
    assert (m.conv1.in_channels, m.conv1.out_channels, m.conv1.kernel_size, m.conv1.stride) == (1, 32, (3, 3), (1, 1))
    assert (m.conv2.in_channels, m.conv2.out_channels, m.conv2.kernel_size, m.conv2.stride) == (32, 64, (3, 3), (1, 1))
    assert type(m.dropout1) is nn.Dropout2d and m.dropout1.p == 0.25
    assert type(m.dropout2) is nn.Dropout2d and m.dropout2.p == 0.5
    assert (m.fc1.in_features, m.fc1.out_features, m.fc2.in_features, m.fc2.out_features) == (9216, 128, 128, 10)
    assert count_params(m) == 1_199_882


def test_fixed_variant_uses_element_dropout_and_same_names():
    fixed = DigitRecognizerFixed()
    assert type(fixed.dropout2) is nn.Dropout and fixed.dropout2.p == 0.5
    note = DigitRecognizer()
    assert list(note.state_dict()) == list(fixed.state_dict())
    fixed.load_state_dict(note.state_dict())  # strict load works both ways
    note.load_state_dict(fixed.state_dict())


def test_eval_outputs_are_log_probabilities_and_variants_agree():
    torch.manual_seed(0)
    note = DigitRecognizer().eval()
    fixed = DigitRecognizerFixed().eval()
    fixed.load_state_dict(note.state_dict())
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        a, b = note(x), fixed(x)
    assert a.shape == (3, 10)
    assert torch.allclose(a.exp().sum(1), torch.ones(3), atol=1e-5)
    assert torch.equal(a, b)


def test_note_model_warns_on_flattened_dropout2d_fixed_does_not():
    x = torch.randn(2, 1, 28, 28)
    with pytest.warns(UserWarning, match="dropout2d"):
        DigitRecognizer().train()(x)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DigitRecognizerFixed().train()(x)


def test_build_model():
    assert type(build_model("note")) is DigitRecognizer
    assert type(build_model()) is DigitRecognizerFixed
    with pytest.raises(ValueError, match="arch='resnet'"):
        build_model("resnet")


def test_note_spelling_of_super_is_kept():
    import inspect

    assert "super(DigitRecognizer, self).__init__()" in inspect.getsource(DigitRecognizer.__init__)


@pytest.mark.parametrize("arch", ["fixed", "note"])
def test_head_of_features_is_the_whole_network(tiny, arch):
    x = prepare_images(tiny[0][:40], torch.device("cpu"))
    model = make_model(arch, seed=1)
    f = features(model, x, batch_size=16)
    assert f.shape == (40, 64, 12, 12) and not f.requires_grad and f.is_contiguous()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the note's Dropout2d on (N, 128)
        model.eval()
        assert torch.allclose(head(model, f), model(x), atol=1e-6)
        model.train()  # same dropout draws from the same seed
        torch.manual_seed(5)
        a = head(model, f)
        torch.manual_seed(5)
        b = model(x)
    assert torch.allclose(a, b, atol=1e-6)
    with pytest.raises(ValueError, match=r"expected \(N, 1, 28, 28\)"):
        features(model, x[:, :, :20])


@pytest.mark.parametrize("batch_size", [7, 64])
def test_features_pool_before_relu_gives_the_same_bits(tiny, batch_size):
    from companion.model import conv_maps

    x = prepare_images(tiny[0][:40], torch.device("cpu"))
    model = make_model("fixed", seed=2).eval()
    with torch.no_grad():
        maps = conv_maps(model, x, torch.channels_last)  # the note's order: ReLU, then pool
        expected = nn.functional.max_pool2d(maps, 2)
    assert (model.conv2(nn.functional.relu(model.conv1(x))) < 0).any()  # negatives that ReLU removes
    assert torch.equal(features(model, x, batch_size=batch_size), expected)
