"""The course's JupyterLab settings; `make lab`, `make lab-course` and `make test-browser` pass
this file with ``--config`` (in addition to the learner's own Jupyter configuration).

- ``settings/overrides.json``: JupyterLab's defaults for this lab. No "get notified about
  official Jupyter news?" pop-up over the first lesson, no update checks (the course runs
  offline). A learner's own settings still win.
- ``custom/custom.css``: the Chinese fonts for the browser, served from the mplfonts package
  (the same Noto Sans CJK SC the figures use), so Chinese shows without a system font.
"""

import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent


def mplfonts_dir() -> Path:
    """The folder of fonts inside the installed mplfonts package (found without importing it)."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the Chinese fonts come with the package mplfonts, which is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "fonts"


c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.LabApp.app_settings_dir = str(HERE / "settings")
c.LabApp.custom_css = True
# /custom/… is looked up in these folders in turn: custom.css here, the fonts in mplfonts
c.ServerApp.tornado_settings = {"static_custom_path": [str(HERE / "custom"), str(mplfonts_dir())]}
