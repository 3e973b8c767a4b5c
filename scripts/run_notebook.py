#!/usr/bin/env python3
"""Execute notebooks/explore.ipynb against a release, as CI does.

Usage: python scripts/run_notebook.py RELEASE_DIR

Runs every cell in a fresh kernel with ANONPUB_RELEASE set to RELEASE_DIR and the notebook's folder
as working directory. The executed copy is not written anywhere: the notebook in git keeps no
outputs. Exits non-zero (with the failing cell's error) when a cell fails.
"""

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "explore.ipynb"


def main():
    if len(sys.argv) != 2:
        print("usage: python scripts/run_notebook.py RELEASE_DIR", file=sys.stderr)
        return 2
    os.environ["ANONPUB_RELEASE"] = str(Path(sys.argv[1]).resolve())
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=600,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    images = sum(
        "image/png" in output.get("data", {}) for cell in code for output in cell.outputs
    )
    print(f"{NOTEBOOK.name}: {len(code)} code cells ran, {images} figures drawn")
    return 0


if __name__ == "__main__":
    sys.exit(main())
