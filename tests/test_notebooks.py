"""tools/notebooks.py: refresh safety, normalisation, and the provenance of every lesson's outputs."""

import ast
import re
import shutil

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import notebooks
from tools.notebooks import ROOT


def _nb(*cells):
    nb = new_notebook(cells=list(cells))
    nb.metadata = {"kernelspec": notebooks.KERNELSPEC}
    return nb


# ── every lesson's stored outputs come from the code that is there now ──────────────


def test_stored_outputs_are_not_older_than_the_code():
    found = notebooks.stale(notebooks.notebook_paths())
    assert not found, (
        "stored outputs may be stale:\n" + "\n".join(f"  notebooks/{p.name}: {why}" for p, why in found)
        + "\nRun `make refresh-stale` (or `python tools/tasks.py refresh --stale`): it refreshes only these."
    )


def _tree(tmp_path):
    (tmp_path / "companion").mkdir()
    (tmp_path / "companion" / "__init__.py").write_text('_HOMES = {"f": "a"}\n', encoding="utf-8")
    (tmp_path / "companion" / "a.py").write_text('"""Module a."""\nfrom . import b\n\n\ndef f(x: int) -> int:\n'
                                                  '    """Twice."""\n    return 2 * x  # doubled\n', encoding="utf-8")
    (tmp_path / "companion" / "b.py").write_text("y = 1\n", encoding="utf-8")
    (tmp_path / "companion" / "c.py").write_text("z = 1\n", encoding="utf-8")
    (tmp_path / "constraints.txt").write_text("torch==2.14.1\n", encoding="utf-8")


def test_provenance_names_what_changed(tmp_path):
    _tree(tmp_path)
    a = tmp_path / "companion" / "a.py"
    nb = _nb(new_code_cell("from companion import f\nprint(f(1))"), new_markdown_cell("text"))
    assert "no provenance" in notebooks.stale_reason(nb, tmp_path)
    nb.metadata[notebooks.PROVENANCE] = notebooks.provenance(nb, tmp_path)
    assert set(nb.metadata[notebooks.PROVENANCE]["companion"]) == {
        "companion/__init__.py", "companion/a.py", "companion/b.py"}  # what it uses, and what that imports
    assert notebooks.stale_reason(nb, tmp_path) is None
    nb.cells[1].source = "other words"  # markdown makes no output
    assert notebooks.stale_reason(nb, tmp_path) is None
    (tmp_path / "companion" / "c.py").write_text("z = 2\n", encoding="utf-8")  # a module it does not use
    assert notebooks.stale_reason(nb, tmp_path) is None
    nb.cells[0].source = "from companion import f\nprint(f(2))"
    assert notebooks.stale_reason(nb, tmp_path) == "its code cells changed after its outputs were made"
    nb.metadata[notebooks.PROVENANCE] = notebooks.provenance(nb, tmp_path)
    # what cannot change an output: docstrings, comments, annotations, formatting, line endings
    a.write_text('"""Module a, described better."""\nfrom . import (\n    b,\n)\n\n\ndef f(x):\n'
                 '    """Two times x."""\n\n    return 2*x\n'.replace("\n", "\r\n"), encoding="utf-8")
    assert notebooks.stale_reason(nb, tmp_path) is None
    a.write_text("from . import b\n\n\ndef f(x):\n    return 3 * x\n", encoding="utf-8")  # a changed result
    assert notebooks.stale_reason(nb, tmp_path) == (
        "companion/a.py changed (code, not only docstrings or comments) after its outputs were made")
    (tmp_path / "companion" / "b.py").write_text("y = 2\n", encoding="utf-8")  # imported by a
    assert "companion/a.py, companion/b.py changed" in notebooks.stale_reason(nb, tmp_path)
    (tmp_path / "constraints.txt").write_text("torch==2.15.0\n", encoding="utf-8")
    assert "constraints.txt changed" in notebooks.stale_reason(nb, tmp_path)


def test_a_printed_source_counts_with_its_docstring(tmp_path):
    _tree(tmp_path)
    nb = _nb(new_code_cell("import inspect\nfrom companion import a\nprint(inspect.getsource(a.f))"))
    nb.metadata[notebooks.PROVENANCE] = notebooks.provenance(nb, tmp_path)
    a = tmp_path / "companion" / "a.py"
    a.write_text(a.read_text(encoding="utf-8").replace('"""Module a."""', '"""Module A."""'), encoding="utf-8")
    assert notebooks.stale_reason(nb, tmp_path) is None  # the module's docstring is not printed
    a.write_text(a.read_text(encoding="utf-8").replace("Twice.", "Two times."), encoding="utf-8")
    assert "source of a:f changed" in notebooks.stale_reason(nb, tmp_path)


def test_an_old_provenance_record_is_stale():
    nb = _nb(new_code_cell("print(1)"))
    nb.metadata[notebooks.PROVENANCE] = {"code": "c", "companion": "p", "pins": "v"}
    assert notebooks.stale_reason(nb) == "its provenance record is of an older form"


def _copy_of_the_course(tmp_path):
    shutil.copytree(ROOT / "companion", tmp_path / "companion", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "constraints.txt", tmp_path / "constraints.txt")
    lessons = {}
    for path in notebooks.notebook_paths():
        nb = nbformat.read(path, as_version=4)
        nb.metadata[notebooks.PROVENANCE] = notebooks.provenance(nb, tmp_path)
        lessons[path.stem] = nb
    return lessons


def _edit_docstrings(path, keep: set[str]) -> int:
    """Reword every docstring of a module (except the definitions in ``keep``, which a lesson
    prints), add a comment and change an annotation's spacing; return how many were reworded."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    kept = [(n.lineno, n.end_lineno) for n in ast.walk(tree)
            if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.name in keep]
    spots = []
    for node in ast.walk(tree):
        if any(a <= getattr(node, "lineno", 0) <= b for a, b in kept):
            continue  # inside a definition a lesson prints: its docstrings are printed too
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str) and getattr(node, "name", None) not in keep):
                spots.append((first.value.lineno, first.value.col_offset))
    lines = text.splitlines(keepends=True)
    for lineno, col in sorted(spots, reverse=True):
        line = lines[lineno - 1]
        quote = len(line[col:]) - len(line[col:].lstrip("rbuRBU"))
        quote += 3 if line[col + quote:col + quote + 3] in ('"""', "'''") else 1
        lines[lineno - 1] = line[:col + quote] + "(reworded) " + line[col + quote:]
    path.write_text("# an added comment\n" + "".join(lines) + "\n# and one at the end\n", encoding="utf-8")
    return len(spots)


def test_a_docstring_edit_leaves_every_lesson_fresh(tmp_path):
    lessons = _copy_of_the_course(tmp_path)
    sources = notebooks.CompanionSources(tmp_path)
    printed = {key.split(":", 1)[1].split(".")[-1] for nb in lessons.values()
               for key in notebooks.lesson_dependencies(nb, sources)[1]}
    reworded = sum(_edit_docstrings(f, printed) for f in (tmp_path / "companion").rglob("*.py"))
    assert reworded > 100
    assert {name: notebooks.stale_reason(nb, tmp_path) for name, nb in lessons.items()} == dict.fromkeys(lessons)


def test_a_changed_result_makes_exactly_the_lessons_that_use_it_stale(tmp_path):
    lessons = _copy_of_the_course(tmp_path)
    path = tmp_path / "companion" / "robustness.py"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n\nSHIFT_LIMIT = 3\n", encoding="utf-8")
    stale = {name for name, nb in lessons.items() if notebooks.stale_reason(nb, tmp_path)}
    codes = {name: "\n".join(c.source for c in nb.cells if c.cell_type == "code") for name, nb in lessons.items()}
    users = {name for name, code in codes.items() if re.search(r"\b(robustness|claims)\b", code)}
    assert users and users <= stale
    assert stale < set(lessons), "a lesson that cannot reach robustness.py stays fresh"
    for name in stale:
        assert "companion/robustness.py changed" in notebooks.stale_reason(lessons[name], tmp_path)
    # a lesson's own exercises are its own: another lesson's exercise module changes nothing else
    ex = next((tmp_path / "companion" / "exercises").glob("lesson_03_*.py"))
    ex.write_text(ex.read_text(encoding="utf-8") + "\n\nEXTRA = 1\n", encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    stale = {name for name, nb in lessons.items() if notebooks.stale_reason(nb, tmp_path)}
    assert stale == {name for name in lessons if name.startswith("03_")}


def test_the_cell_number_is_the_one_jupyterlab_shows():
    nb = _nb(new_markdown_cell("m"), new_code_cell("a"), new_markdown_cell("m"), new_code_cell("b"))
    assert [notebooks.code_cell_number(nb, i) for i in (1, 3)] == [1, 2]


# ── refresh ──────────────────────────────────────────────────────────────────────────


def test_refresh_refuses_to_overwrite_a_failing_notebook(tmp_path, capsys):
    path = tmp_path / "broken.ipynb"
    nbformat.write(_nb(new_code_cell("x = 1"), new_code_cell("print(x)\n1 / 0")), path)
    before = path.read_bytes()
    assert notebooks.refresh([path]) == 1
    assert path.read_bytes() == before
    err = capsys.readouterr().err
    assert "file left unchanged" in err and "code cell 2 (JupyterLab shows [2])" in err and "ZeroDivisionError" in err
    assert "print(x)" in err and "rerun it with: make refresh NB=" in err and "\x1b[" not in err


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


def test_the_site_builders_pins_are_no_part_of_the_lessons_provenance(tmp_path):
    pins = tmp_path / "constraints.txt"
    pins.write_text("torch==2.14.1\n", encoding="utf-8")
    before = notebooks.pins_digest(tmp_path)
    pins.write_text(f"torch==2.14.1\n{notebooks.SITE_PINS_MARKER} the site's pins\nsphinx==9.0.4\n", encoding="utf-8")
    assert notebooks.pins_digest(tmp_path) == before
    pins.write_text(f"torch==2.15.0\n{notebooks.SITE_PINS_MARKER} the site's pins\nsphinx==9.0.4\n", encoding="utf-8")
    assert notebooks.pins_digest(tmp_path) != before
    assert notebooks.SITE_PINS_MARKER in (notebooks.ROOT / "constraints.txt").read_text(encoding="utf-8")
