"""A pytest plugin that ``make test`` loads first (``-p tools.pytest_startup``), before nbval.

nbval imports nbformat, nbformat imports jsonschema, and jsonschema imports ``rfc3987_syntax``
when it is installed (JupyterLab's dependencies install it), which builds 39 Lark parsers at
import: about 3 s in every pytest process, the controller and each worker. It serves only the
``iri`` and ``iri-reference`` string formats, which nothing here checks (nbformat validates
notebooks without format checkers). Marking it absent in the test processes makes jsonschema
skip those two format checkers; nothing else changes, and no other process is touched."""

from __future__ import annotations

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # import now fails fast
