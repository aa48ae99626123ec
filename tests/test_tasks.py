"""The instructors' commands: refresh safety, normalisation, student copies, test-cuda."""

import os
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from companion import tasks


def _nb(*cells):
    nb = new_notebook(cells=list(cells))
    nb.metadata = {"kernelspec": tasks.KERNELSPEC}
    return nb


def test_refresh_refuses_to_overwrite_a_failing_notebook(tmp_path, capsys):
    path = tmp_path / "broken.ipynb"
    nbformat.write(_nb(new_code_cell("x = 1"), new_code_cell("print(x)\n1 / 0")), path)
    before = path.read_bytes()
    assert tasks.refresh([path]) == 1
    assert path.read_bytes() == before
    err = capsys.readouterr().err
    assert "file left unchanged" in err and "code cell 2" in err and "ZeroDivisionError" in err


def test_refresh_writes_normalised_output_and_is_idempotent(tmp_path):
    path = tmp_path / "ok.ipynb"
    nb = _nb(new_markdown_cell("# t"), new_code_cell("print(6 * 7)"), new_code_cell("print(0.5)"),
             new_code_cell("raise ValueError('shown on purpose')", metadata={"tags": ["raises-exception"]}))
    nb.metadata["widgets"] = {"x": 1}
    nbformat.write(nb, path)
    assert tasks.refresh([path]) == 0
    first = path.read_bytes()
    out = nbformat.read(path, as_version=4)
    code = [c for c in out.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3]
    assert code[0].outputs[0].text == "42\n"
    assert set(out.metadata) == {"kernelspec", "language_info"}
    assert "version" not in out.metadata["language_info"]
    assert all("execution" not in c.metadata for c in out.cells)
    # integers are device-independent and compared in the CUDA run; decimals are not
    assert tasks.CHECK_TAG in code[0].metadata["tags"]
    assert tasks.CHECK_TAG not in code[1].metadata.get("tags", [])
    assert tasks.refresh([path]) == 0
    assert path.read_bytes() == first


def test_stub_source_keeps_the_checker_call():
    src = '# 参考答案\nanswer = 32 * 3 * 3 * 3 + 32\ncompanion.check("03.params_rgb", answer)'
    stub = tasks.stub_source(src)
    assert 'companion.check("03.params_rgb", answer)' in stub and "answer = None" in stub
    assert "32 * 3" not in stub
    with pytest.raises(ValueError, match="companion.check"):
        tasks.stub_source("answer = 3")


def test_student_copies(tmp_path):
    out = tmp_path / "student"
    assert tasks.student(out) == 0
    lessons = tasks.notebook_paths()
    assert sorted(p.name for p in out.glob("*.ipynb")) == [p.name for p in lessons]
    n_solutions = 0
    for path in lessons:
        orig = nbformat.read(path, as_version=4)
        copy = nbformat.read(out / path.name, as_version=4)
        assert len(orig.cells) == len(copy.cells)
        for a, b in zip(orig.cells, copy.cells):
            if "solution" in a.metadata.get("tags", []):
                n_solutions += 1
                assert "exercise-stub" in b.metadata["tags"] and b.outputs == [] and b.execution_count is None
                assert "answer = None" in b.source and "companion.check(" in b.source
                for line in a.source.splitlines():
                    if line.startswith("answer =") and line.strip() != "answer = None":
                        assert line not in nbformat.writes(copy), f"{path.name}: solution leaked: {line}"
            else:
                assert a == b, f"{path.name}: a non-solution cell changed"
    assert n_solutions >= 2 * len(lessons) or n_solutions == 0


def test_student_notebooks_execute_and_report_unanswered(tmp_path):
    out = tmp_path / "student"
    tasks.student(out)
    import os

    os.environ.setdefault("COURSE_DEVICE", "cpu")
    nb = tasks.execute(out / "02_super.ipynb")  # a short lesson; the others differ from it only in the same way
    stubs = [c for c in nb.cells if "exercise-stub" in c.metadata.get("tags", [])]
    for cell in stubs:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "尚未作答" in text


def test_test_cuda_fails_fast_without_a_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc = subprocess.run([sys.executable, "-m", "companion.tasks", "test-cuda"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no CUDA device" in lines[0]


def test_venv_is_skipped_when_up_to_date(capsys, monkeypatch):
    if not tasks.STAMP.exists():
        pytest.skip("no installed .venv here")
    monkeypatch.setattr(tasks.subprocess, "check_call", lambda *a, **k: pytest.fail("would reinstall"))
    import os

    newest = max(p.stat().st_mtime for p in (tasks.ROOT / "pyproject.toml", tasks.ROOT / "constraints.txt"))
    if tasks.STAMP.stat().st_mtime < newest:
        pytest.skip("dependency files changed since the last install")
    assert tasks.venv() == 0 and "up to date" in capsys.readouterr().out
    assert os.path.exists(tasks.venv_python())


def test_normalise_keeps_outputs_and_counts(tmp_path):
    path = tmp_path / "n.ipynb"
    cell = new_code_cell("print(1)", execution_count=7, metadata={"execution": {"iopub.status.busy": "2026"}})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb = _nb(cell)
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    nbformat.write(nb, path)
    assert tasks.normalise_files([path]) == 0
    out = nbformat.read(path, as_version=4)
    assert out.cells[0].execution_count == 7 and out.cells[0].outputs[0].text == "1\n"
    assert "execution" not in out.cells[0].metadata and "version" not in out.metadata["language_info"]
    once = path.read_bytes()
    tasks.normalise_files([path])
    assert path.read_bytes() == once


def test_tidy_outputs_merges_chunks_and_strips_machine_paths():
    from nbformat.v4 import new_output

    outs = [
        new_output("stream", name="stdout", text="a\n"),
        new_output("stream", name="stdout", text="b\n"),
        new_output("display_data", data={"text/plain": "<Figure>"}),
        new_output("stream", name="stderr", text=f"{tasks.ROOT}/companion/x.py:1: /tmp/ipykernel_4242/1.py\n"),
        new_output("error", ename="E", evalue="v", traceback=[f"File {tasks.ROOT}/companion/shapes.py:5"]),
    ]
    tidy = tasks._tidy_outputs(outs)
    assert [o.output_type for o in tidy] == ["stream", "display_data", "stream", "error"]
    assert tidy[0].text == "a\nb\n"
    assert tidy[2].text == "companion/x.py:1: /tmp/ipykernel_0/1.py\n"
    assert tidy[3].traceback == ["File companion/shapes.py:5"]
    bar = tasks._tidy_outputs([new_output("stream", name="stderr", text="  0%|  | 0/9\r 50%|# | 4/9\r100%|##| 9/9\n")])
    assert bar[0].text == "100%|##| 9/9\n"


def test_refresh_keeps_varying_output_of_unchanged_cells(tmp_path):
    path = tmp_path / "timing.ipynb"
    varying = new_code_cell("import time\nprint(time.perf_counter_ns())", metadata={"tags": ["nbval-ignore-output"]})
    nbformat.write(_nb(varying, new_code_cell("print(1)")), path)
    assert tasks.refresh([path]) == 0
    first = path.read_bytes()
    assert tasks.refresh([path]) == 0
    assert path.read_bytes() == first
    assert tasks.refresh([path], keep_varying=False) == 0
    assert path.read_bytes() != first


def test_make_test_runs_one_single_threaded_worker_per_cpu():
    cmd, env = tasks.test_command([], cpus=2)
    assert cmd[cmd.index("-n") + 1] == "2" and cmd[cmd.index("--dist") + 1] == "loadscope"
    assert "--nbval" in cmd and env["COURSE_DEVICE"] == "cpu"
    if "OMP_NUM_THREADS" not in os.environ:
        assert env["OMP_NUM_THREADS"] == "1"


def test_make_test_is_serial_on_one_cpu_or_when_asked():
    cmd, _ = tasks.test_command([], cpus=1)
    assert "-n" not in cmd
    cmd, _ = tasks.test_command(["-n", "0", "notebooks/03_conv1.ipynb"], cpus=8)
    assert cmd.count("-n") == 1 and cmd[-1] == "notebooks/03_conv1.ipynb"


def test_refresh_replaces_varying_output_that_changed_shape(tmp_path, monkeypatch):
    # same code, but what it prints changed beyond its numbers (say, a new recipe trains
    # more epochs): the stored output is stale and is replaced
    path = tmp_path / "log.ipynb"
    cell = new_code_cell("import os\nfor i in range(int(os.environ['EPOCHS'])):\n    print('epoch', i)",
                         metadata={"tags": ["nbval-ignore-output"]})
    nbformat.write(_nb(cell), path)
    monkeypatch.setenv("EPOCHS", "2")
    assert tasks.refresh([path]) == 0
    monkeypatch.setenv("EPOCHS", "3")
    assert tasks.refresh([path]) == 0
    assert nbformat.read(path, as_version=4).cells[0].outputs[0]["text"].count("epoch") == 3
