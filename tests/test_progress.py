"""companion/progress.py: the progress bar."""

from companion.progress import progress_bar


def test_a_disabled_bar_draws_nothing(capsys):
    bar = progress_bar(5, enabled=False, desc="x")
    bar.update(5)
    bar.close()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_outside_a_notebook_the_bar_is_text(capsys):
    bar = progress_bar(3, desc="训练")
    for _ in range(3):
        bar.update(1)
    bar.close()
    err = capsys.readouterr().err
    assert "训练" in err and "3/3" in err and type(bar).__module__.startswith("tqdm")
