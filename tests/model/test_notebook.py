"""The exploration-and-training notebook runs top to bottom on a small simulation."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "fraud_detection.ipynb"


@pytest.mark.slow
def test_notebook_runs_top_to_bottom(monkeypatch) -> None:
    monkeypatch.setenv("YIBAO_NB_CLAIMS", "6000")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": os.getcwd()}}
    )
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "training claims" in text and "because" in text
