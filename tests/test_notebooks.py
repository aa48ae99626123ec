"""tools/notebooks.py: refresh safety, normalisation, and the provenance of every lesson's outputs."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import notebooks
from tools.notebooks import ROOT


def _nb(*cells):
    nb = new_notebook(cells=list(cells))
    nb.metadata = {"kernelspec": notebooks.KERNELSPEC}
    return nb


# ── every lesson's stored outputs come from the code that is there now ──────────────


@pytest.mark.parametrize("path", notebooks.notebook_paths(), ids=lambda p: p.name)
def test_stored_outputs_are_not_older_than_the_code(path):
    reason = notebooks.stale_reason(nbformat.read(path, as_version=4))
    assert reason is None, (
        f"notebooks/{path.name}: {reason}. Its stored outputs may be stale: run "
        f"`make refresh NB=notebooks/{path.name}` (or `python tools/tasks.py refresh notebooks/{path.name}`)"
    )


def test_provenance_names_what_changed(tmp_path):
    (tmp_path / "companion").mkdir()
    (tmp_path / "companion" / "a.py").write_text("x = 1\n")
    (tmp_path / "constraints.txt").write_text("torch==2.14.1\n")
    nb = _nb(new_code_cell("print(1)"), new_markdown_cell("text"))
    assert "no provenance" in notebooks.stale_reason(nb, tmp_path)
    nb.metadata[notebooks.PROVENANCE] = notebooks.provenance(nb, tmp_path)
    assert notebooks.stale_reason(nb, tmp_path) is None
    nb.cells[1].source = "other words"  # markdown makes no output
    assert notebooks.stale_reason(nb, tmp_path) is None
    nb.cells[0].source = "print(2)"
    assert notebooks.stale_reason(nb, tmp_path) == "its code cells changed after its outputs were made"
    nb.metadata[notebooks.PROVENANCE] = notebooks.provenance(nb, tmp_path)
    (tmp_path / "companion" / "a.py").write_text("x = 2\n")
    assert "the companion package changed" in notebooks.stale_reason(nb, tmp_path)
    (tmp_path / "companion" / "a.py").write_text("x = 1\r\n")  # a Windows checkout: same code
    assert notebooks.stale_reason(nb, tmp_path) is None
    (tmp_path / "constraints.txt").write_text("torch==2.15.0\n")
    assert "constraints.txt changed" in notebooks.stale_reason(nb, tmp_path)


def test_a_changed_code_cell_fails_the_provenance_test_naming_the_lesson(tmp_path):
    lesson = notebooks.notebook_paths()[2]
    nb = nbformat.read(lesson, as_version=4)
    next(c for c in nb.cells if c.cell_type == "code").source += "\n# edited"
    with pytest.raises(AssertionError, match=rf"notebooks/{lesson.name}: its code cells changed.*make refresh NB="):
        path = tmp_path / lesson.name
        nbformat.write(nb, path)
        test_stored_outputs_are_not_older_than_the_code(path)


# ── refresh ──────────────────────────────────────────────────────────────────────────


def test_refresh_refuses_to_overwrite_a_failing_notebook(tmp_path, capsys):
    path = tmp_path / "broken.ipynb"
    nbformat.write(_nb(new_code_cell("x = 1"), new_code_cell("print(x)\n1 / 0")), path)
    before = path.read_bytes()
    assert notebooks.refresh([path]) == 1
    assert path.read_bytes() == before
    err = capsys.readouterr().err
    assert "file left unchanged" in err and "code cell 2" in err and "ZeroDivisionError" in err


def test_refresh_writes_normalised_output_with_provenance(tmp_path):
    path = tmp_path / "ok.ipynb"
    nb = _nb(new_markdown_cell("# t"), new_code_cell("print(6 * 7)"), new_code_cell("print(0.5)"),
             new_code_cell("raise ValueError('shown on purpose')", metadata={"tags": ["raises-exception"]}))
    nb.metadata["widgets"] = {"x": 1}
    nbformat.write(nb, path)
    assert notebooks.refresh([path]) == 0
    first = path.read_bytes()
    out = nbformat.read(path, as_version=4)
    code = [c for c in out.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3]
    assert code[0].outputs[0].text == "42\n"
    assert set(out.metadata) == {"kernelspec", "language_info", notebooks.PROVENANCE}
    assert notebooks.stale_reason(out) is None
    assert "version" not in out.metadata["language_info"]
    assert all("execution" not in c.metadata for c in out.cells)
    # integers are device-independent and compared in the CUDA run; decimals are not
    assert notebooks.CHECK_TAG in code[0].metadata["tags"]
    assert notebooks.CHECK_TAG not in code[1].metadata.get("tags", [])
    assert notebooks.refresh([path]) == 0
    assert path.read_bytes() == first


def test_refresh_stores_every_output_of_one_run(tmp_path, monkeypatch):
    # varying outputs (timings, training logs) are replaced too: never a mix of two runs
    path = tmp_path / "log.ipynb"
    varying = new_code_cell("import os\nprint('run', os.environ['RUN'])", metadata={"tags": ["nbval-ignore-output"]})
    nbformat.write(_nb(varying, new_code_cell("print(os.environ['RUN'])")), path)
    for run in ("1", "2"):
        monkeypatch.setenv("RUN", run)
        assert notebooks.refresh([path]) == 0
        cells = nbformat.read(path, as_version=4).cells
        assert [c.outputs[0]["text"] for c in cells] == [f"run {run}\n", f"{run}\n"]


def test_normalise_keeps_outputs_counts_and_provenance(tmp_path):
    path = tmp_path / "n.ipynb"
    cell = new_code_cell("print(1)", execution_count=7, metadata={"execution": {"iopub.status.busy": "2026"}})
    cell.outputs = [new_output("stream", name="stdout", text="1\n")]
    nb = _nb(cell)
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    nb.metadata[notebooks.PROVENANCE] = {"code": "c", "companion": "p", "pins": "v"}
    nbformat.write(nb, path)
    assert notebooks.normalise_files([path]) == 0
    out = nbformat.read(path, as_version=4)
    assert out.cells[0].execution_count == 7 and out.cells[0].outputs[0].text == "1\n"
    assert "execution" not in out.cells[0].metadata and "version" not in out.metadata["language_info"]
    assert out.metadata[notebooks.PROVENANCE] == {"code": "c", "companion": "p", "pins": "v"}
    once = path.read_bytes()
    notebooks.normalise_files([path])
    assert path.read_bytes() == once


def test_tidy_outputs_merges_chunks_and_strips_machine_paths():
    outs = [
        new_output("stream", name="stdout", text="a\n"),
        new_output("stream", name="stdout", text="b\n"),
        new_output("display_data", data={"text/plain": "<Figure>"}),
        new_output("stream", name="stderr", text=f"{ROOT}/companion/x.py:1: /tmp/ipykernel_4242/1.py\n"),
        new_output("error", ename="E", evalue="v", traceback=[f"File {ROOT}/companion/shapes.py:5"]),
    ]
    tidy = notebooks.tidy_outputs(outs)
    assert [o.output_type for o in tidy] == ["stream", "display_data", "stream", "error"]
    assert tidy[0].text == "a\nb\n"
    assert tidy[2].text == "companion/x.py:1: /tmp/ipykernel_0/1.py\n"
    assert tidy[3].traceback == ["File companion/shapes.py:5"]
    widget = notebooks.tidy_outputs([
        new_output("display_data", data={notebooks.WIDGET_VIEW: {"model_id": "4f2a"}, "image/png": "iVBOR",
                                         "text/plain": "report"}),
        new_output("display_data", data={notebooks.WIDGET_VIEW: {"model_id": "77c1"}}),
    ])
    assert [o.data for o in widget] == [{"image/png": "iVBOR", "text/plain": "report"}]  # random ids never stored
    bar = notebooks.tidy_outputs(
        [new_output("stream", name="stderr", text="  0%|  | 0/9\r 50%|# | 4/9\r100%|##| 9/9\n")]
    )
    assert bar[0].text == "100%|##| 9/9\n"
