"""``python -m companion``: help, train on a tiny subset, predict an image. Offline and fast."""

import pytest

from companion import load_sample
from companion.checkpoint import load_checkpoint
from companion.cli import main


def test_help_in_plain_words(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for word in ("train", "predict", "doctor", "COMMAND --help"):
        assert word in out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for word in ("--data", "auto|sample|mnist|PATH", "--epochs", "--device", "--out", "--seed", "COURSE_MNIST_DIR"):
        assert word in out
    assert "--limit" not in out  # a hidden option for tests
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    assert "centre of mass" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    for argv in ([], ["fly"], ["train", "--epochs", "0"], ["train", "--epochs", "nan"], ["train", "--bogus"],
                 ["train", "--batch-size", "0"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2, argv
    err = capsys.readouterr().err
    assert "must be a positive number" in err and "must be at least 1" in err


def test_train_then_predict(tmp_path, tiny_mnist, capsys):
    out = tmp_path / "m.pt"
    argv = ["train", "--data", str(tiny_mnist), "--epochs", "1", "--device", "cpu", "--out", str(out),
            "--seed", "3", "--limit", "32", "--batch-size", "16", "--no-progress"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert f"data: MNIST from {tiny_mnist}" in text and "epoch 1: train loss" in text and f"saved {out}" in text
    ck = load_checkpoint(out)
    assert (
        ck.arch == "fixed" and ck.info["seed"] == 3 and ck.info["train"] == 32
        and ck.history.step == [2, 3, 4, 5]  # then 3 head epochs of one step
    )

    from PIL import Image

    x, _ = load_sample("test")
    png = tmp_path / "digit.png"
    Image.fromarray((255 - x[0, 0] * 255).round().byte().numpy()).resize((56, 56)).save(png)  # dark on white
    assert main(["predict", str(png), "--model", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{png}: ") and "probability" in line

    assert main(["predict", str(png), "--model", str(tmp_path / "none.pt")]) == 1
    assert "no such model file" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "none.png"), "--model", str(out)]) == 1
    assert "no such image file" in capsys.readouterr().err


def test_train_reports_bad_data_without_a_traceback(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "nowhere"), "--no-progress"]) == 1
    assert capsys.readouterr().err.startswith("error: data=")


def test_doctor_is_a_subcommand(capsys):
    assert main(["doctor", "--no-network"]) == 0
    assert "devices" in capsys.readouterr().out


# ── your files ───────────────────────────────────────────────────────────────


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_an_existing_file_is_replaced_only_with_force(tmp_path, tiny_mnist, capsys):
    out = tmp_path / "m.pt"
    out.write_bytes(b"my earlier model")
    argv = ["train", "--data", str(tiny_mnist), "--epochs", "0.5", "--device", "cpu", "--out", str(out),
            "--limit", "16", "--batch-size", "16", "--no-progress"]
    assert main(argv) == 1
    assert "already exists" in _one_error_line(capsys.readouterr().err) and out.read_bytes() == b"my earlier model"
    assert main([*argv, "--force"]) == 0
    assert load_checkpoint(out).info["train"] == 16
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "never replaced unless you pass --force" in help_text and "read-only file is never replaced" in help_text
    assert "at most 100" in help_text


def _fake_fit(*args, **kwargs):
    from companion.history import History

    return History(epoch=[1.0], step=[1], seconds=[0.1], train_loss=[0.5], test_loss=[0.4], test_acc=[0.5], lr=[0.1])


@pytest.mark.parametrize("when", ["training", "saving"])
def test_ctrl_c_is_one_line_exit_130_and_keeps_the_old_file(tmp_path, tiny_mnist, capsys, monkeypatch, when):
    import torch

    from companion import train

    out = tmp_path / "m.pt"
    out.write_bytes(b"my earlier model")

    def interrupted(*args, **kwargs):
        if when == "saving":
            open(args[1], "wb").write(b"half")
        raise KeyboardInterrupt

    if when == "training":
        monkeypatch.setattr(train, "fit", interrupted)
    else:
        monkeypatch.setattr(train, "fit", _fake_fit)
        monkeypatch.setattr(torch, "save", interrupted)
    argv = ["train", "--data", str(tiny_mnist), "--out", str(out), "--force", "--no-progress", "--device", "cpu"]
    assert main(argv) == 130
    assert "interrupted (Ctrl-C)" in _one_error_line(capsys.readouterr().err)
    assert out.read_bytes() == b"my earlier model" and sorted(p.name for p in tmp_path.iterdir()) == ["m.pt", "mnist"]


def test_debug_shows_the_traceback(tmp_path, capsys):
    for argv in (["--debug", "train"], ["train", "--debug"]):
        assert main([*argv, "--data", str(tmp_path / "x"), "--out", str(tmp_path / "m.pt")]) == 1
        err = capsys.readouterr().err
        assert err.startswith("Traceback") and err.strip().splitlines()[-1].startswith("error: data=")
    assert main(["doctor", "--debug", "--no-network"]) == 0


def test_an_unexpected_error_is_one_line_too(tmp_path, tiny_mnist, capsys, monkeypatch):
    from companion import train

    def bug(*args, **kwargs):
        raise TypeError("unsupported operand\nmore")

    monkeypatch.setattr(train, "fit", bug)
    assert main(["train", "--data", str(tiny_mnist), "--out", str(tmp_path / "m.pt"), "--no-progress"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line == "error: TypeError: unsupported operand (unexpected; run again with --debug to see where it arose)"


def test_describe_says_what_and_what_to_do():
    from companion.cli import describe

    assert describe(ModuleNotFoundError("No module named 'torch'", name="torch")).startswith(
        "torch cannot be imported (No module named 'torch'); `python -m companion doctor`")
    assert describe(PermissionError(13, "Permission denied", "/x/m.pt")) == "/x/m.pt: Permission denied"
    assert describe(ValueError("first\nsecond")) == "first"
    assert describe(RuntimeError()).startswith("RuntimeError: no message (unexpected")


def test_the_arch_choices_are_the_architectures():
    from companion.cli import ARCH_CHOICES
    from companion.model import ARCHS

    assert sorted(ARCH_CHOICES) == sorted(ARCHS)
