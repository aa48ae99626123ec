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


def test_a_torch_device_and_a_cuda_index(monkeypatch):
    assert get_device(torch.device("cpu")) == torch.device("cpu")
    assert get_device(" CPU ") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in (0, torch.device("cuda"), torch.device("cuda:1"), "cuda:3"):
        with pytest.raises(RuntimeError, match="asks for CUDA"):
            get_device(name)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert get_device(0) == get_device(torch.device("cuda:0")) == torch.device("cuda:0")
    with pytest.raises(RuntimeError, match="only 1 CUDA device"):
        get_device(1)


@pytest.mark.parametrize("name", [-1, True, 1.5, [0], "", "cuda:", "cuda:x", "cuda:-1", "mps", torch.device("meta")])
def test_what_is_not_a_device_is_refused(name):
    with pytest.raises(ValueError, match="argument="):
        get_device(name)


def test_bf16_is_chosen_where_the_cpu_has_it(monkeypatch):
    cpu = torch.device("cpu")
    assert device.use_bf16(cpu, True) is True and device.use_bf16(cpu, False) is False
    monkeypatch.setattr(device, "cpu_native_bf16", lambda: True)
    assert device.use_bf16(cpu) is True
    monkeypatch.setattr(device, "cpu_native_bf16", lambda: False)
    assert device.use_bf16(cpu) is False


def test_native_bf16_follows_the_cpu_and_the_kernels(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True, raising=False)
    assert device.cpu_native_bf16() is True
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False, raising=False)
    assert device.cpu_native_bf16() is False  # oneDNN cannot use it
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True, raising=False)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "DEFAULT")
    assert device.cpu_native_bf16() is False  # the scalar kernels: never
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    assert device.cpu_native_bf16() is False
