import pytest
import torch

from companion import device, get_device


def test_default_is_auto(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    assert device.DEFAULT == "auto"
    assert get_device() == get_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")


def test_env_and_argument(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "CPU")
    assert get_device() == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert get_device("auto").type == expected


def test_cuda_without_a_device_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="COURSE_DEVICE='cuda' asks for CUDA"):
        get_device()
    with pytest.raises(RuntimeError, match="no CUDA device"):
        get_device("cuda:0")


def test_unknown_choice(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "tpu")
    with pytest.raises(ValueError, match="COURSE_DEVICE='tpu' is not a device choice"):
        get_device()
