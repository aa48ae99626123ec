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
