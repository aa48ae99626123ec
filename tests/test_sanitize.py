"""tests/sanitize.cfg, applied as nbval applies it: a Windows, a macOS and a Linux traceback of the
same warning read the same once masked."""

from pathlib import Path

from nbval.plugin import get_sanitize_patterns

CFG = Path(__file__).resolve().parent / "sanitize.cfg"


def _sanitize(text: str) -> str:
    import re

    for regex, replace in get_sanitize_patterns(CFG.read_text(encoding="utf-8")):
        text = re.sub(regex, replace, text)
    return text


WARNING = "{}:176: UserWarning: dropout2d: Received a 2-D input to dropout2d\n"
PATHS = [
    ".venv/lib/python3.11/site-packages/torch/nn/modules/dropout.py",  # as stored (Linux, the checkout's .venv)
    "/Users/ada/course/.venv/lib/python3.13/site-packages/torch/nn/modules/dropout.py",  # macOS
    r"C:\Users\ada\course\.venv\Lib\site-packages\torch\nn\modules\dropout.py",  # Windows
    "/opt/conda/envs/course/lib/python3.12/dist-packages/torch/nn/modules/dropout.py",
]


def test_installed_paths_read_the_same_on_every_system():
    masked = {_sanitize(WARNING.format(p)) for p in PATHS}
    assert masked == {"SITE_FILE:176: UserWarning: dropout2d: Received a 2-D input to dropout2d\n"}


def test_kernel_cell_paths_read_the_same_on_every_system():
    tracebacks = [
        'File /tmp/ipykernel_4242/1234567.py:3\n',
        'File /var/folders/zz/abc123/T/ipykernel_77/99.py:3\n',
        'File C:\\Users\\ada\\AppData\\Local\\Temp\\ipykernel_5\\123.py:3\n',
    ]
    assert {_sanitize(t) for t in tracebacks} == {"File IPYKERNEL_CELL:3\n"}


def test_addresses_and_cuda_are_masked():
    assert _sanitize("<object at 0x7f3a2b>, device='cuda:0'") == "<object at 0xADDRESS>"
