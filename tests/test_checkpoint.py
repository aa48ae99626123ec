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

    with pytest.raises(TypeError, match="model of type Other: expected one of the course's models"):
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



def test_an_empty_file_is_named_not_a_crash(tmp_path):
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=f"{empty}: not a readable checkpoint \\(an empty file\\)"):
        load_checkpoint(empty)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_checkpoint(tmp_path)


def _payload_with(tmp_path, **changes):
    good = torch.load(save_checkpoint(tmp_path / "good.pt", make_model()), weights_only=True)
    for key, value in changes.items():
        if value is KeyError:
            good.pop(key)
        else:
            good[key] = value
    bad = tmp_path / "bad.pt"
    torch.save(good, bad)
    return bad


@pytest.mark.parametrize("changes, words", [
    ({"config": KeyError}, "config must be a dict naming an architecture .* found none"),
    ({"config": "note"}, "config must be a dict .* found a str"),
    ({"config": {"arch": "resnet"}}, "found arch 'resnet'"),
    ({"config": {"arch": ["note"]}}, r"found arch \['note'\]"),
    ({"state_dict": KeyError}, "state_dict must be a dict of named tensors, found NoneType"),
    ({"state_dict": [1]}, "state_dict must be a dict of named tensors, found list"),
    ({"state_dict": {"fc1.weight": 1.0}}, "state_dict must be a dict of named tensors"),
    ({"history": [1, 2]}, "its history must be a dict, found a list"),
    ({"history": {"epoch": 3}}, "history entry 'epoch' must be a list of numbers"),
    ({"recipe": "course"}, "its recipe must be a dict, found a str"),
    ({"info": ["seed"]}, "its info must be a dict, found a list"),
])
def test_a_damaged_payload_is_a_value_error_naming_the_file(tmp_path, changes, words):
    bad = _payload_with(tmp_path, **changes)
    for read in (load_checkpoint, lambda p: restore(build_model(), p)):
        with pytest.raises(ValueError, match=words) as err:
            read(bad)
        assert str(err.value).startswith(f"{bad}")


def test_shapes_are_checked_on_save_and_on_load(tmp_path):
    wide = make_model("note")
    wide.fc1, wide.fc2 = torch.nn.Linear(9216, 256), torch.nn.Linear(256, 10)
    with pytest.raises(ValueError, match=r"fc1.weight has shape \(256, 9216\) but the 'note' architecture has "
                                         r"\(128, 9216\)"):
        save_checkpoint(tmp_path / "wide.pt", wide)
    assert not (tmp_path / "wide.pt").exists()
    state = {k: v for k, v in wide.state_dict().items()}
    bad = _payload_with(tmp_path, state_dict=state, config={"arch": "note"})
    with pytest.raises(ValueError, match=rf"{bad}: fc1.weight has shape \(256, 9216\)"):
        load_checkpoint(bad)
    missing = _payload_with(tmp_path, state_dict={k: v for k, v in state.items() if k != "fc2.bias"})
    with pytest.raises(ValueError, match="missing: fc2.bias; unexpected: none"):
        load_checkpoint(missing)
    good = save_checkpoint(tmp_path / "note.pt", make_model("note"))
    with pytest.raises(ValueError, match="this DigitRecognizer: fc1.weight has shape"):
        restore(wide, good)


def test_save_overwrites_only_when_asked_and_never_a_read_only_file(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "m.pt", make_model(seed=1))
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        save_checkpoint(path, make_model(seed=2), overwrite=False)
    path.chmod(0o444)
    try:
        with pytest.raises(PermissionError, match="read-only"):
            save_checkpoint(path, make_model(seed=2))
    finally:
        path.chmod(0o644)
    assert path.read_bytes() == before

    def interrupted(obj, f, *args, **kwargs):
        open(f, "wb").write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, make_model(seed=2))
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.pt"]
