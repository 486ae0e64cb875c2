"""Every notebook in notebooks/ executes without error (float64, fresh kernel)."""

import glob
import os

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "notebooks", "*.ipynb")))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[os.path.basename(p) for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path, monkeypatch):
    # Quick-mode figures go to a temporary folder, not over the committed figures/.
    monkeypatch.setenv("NT_COMPLEX_FIGURES", str(tmp_path))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": os.path.dirname(path)}})
    client.execute()


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ should hold the executable tutorials"
