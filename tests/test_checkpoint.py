"""companion/checkpoint.py: save, load, restore, and refusing what is not ours."""

import pytest
import torch

from companion import DigitRecognizer, DigitRecognizerFixed, build_model
from companion.checkpoint import load_checkpoint, restore, save_checkpoint
from companion.evaluate import predict_labels
from companion.history import History
from companion.model import make_model
from companion.recipes import COURSE


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_checkpoint_round_trip(tmp_path, tiny):
    _, _, xt, _ = tiny
    model = make_model("fixed", seed=1)
    history = History(epoch=[1.0], step=[2], seconds=[0.5], train_loss=[0.4], test_loss=[0.3], test_acc=[0.9], lr=[0.1])
    path = save_checkpoint(tmp_path / "sub" / "m.pt", model, history=history, recipe=COURSE, info={"seed": 1})
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temporary file left
    raw = torch.load(path, weights_only=True)
    assert raw["config"]["arch"] == "fixed" and raw["recipe"]["optimizer"] == "adamw"
    ck = load_checkpoint(path)
    assert type(ck.model) is DigitRecognizerFixed and ck.arch == "fixed" and not ck.model.training
    assert ck.history == history and ck.info == {"seed": 1} and ck.recipe["name"] == "course"
    assert torch.equal(predict_labels(ck.model, xt), predict_labels(model, xt))
    fresh = restore(build_model("fixed"), path)
    assert torch.equal(_weights(fresh), _weights(model))

def test_wrong_architecture_is_named(tmp_path):
    path = save_checkpoint(tmp_path / "note.pt", make_model("note"))
    with pytest.raises(ValueError, match="holds a 'note' model, not the 'fixed' architecture"):
        load_checkpoint(path, arch="fixed")
    with pytest.raises(
        ValueError, match=r"'note' model \(DigitRecognizer\) but this model is 'fixed' \(DigitRecognizerFixed\)"
    ):
        restore(DigitRecognizerFixed(), path)
    assert type(load_checkpoint(path, arch="note").model) is DigitRecognizer

    class Other(DigitRecognizer):
        pass

    with pytest.raises(ValueError, match="Other is not one of the course's models"):
        save_checkpoint(tmp_path / "x.pt", Other())

def test_not_a_checkpoint(tmp_path):
    bare = tmp_path / "bare.pt"
    torch.save(build_model().state_dict(), bare)
    with pytest.raises(ValueError, match="not a checkpoint of this course"):
        load_checkpoint(bare)
    good = save_checkpoint(tmp_path / "good.pt", build_model())
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(ValueError, match=f"{cut}: not a readable checkpoint"):
        load_checkpoint(cut)
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "none.pt")


# ── image preparation ────────────────────────────────────────────────────────
