"""The Markdown tables the benchmark tools print, read back: shared by targets.py and charts.py."""
import os


def rows(directory, name):
    """The data rows of every Markdown table in directory/name, as lists of cells ([] if it is missing)."""
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        line = line.strip()
        if line.startswith("|") and not line.startswith("|---"):
            out.append([c.strip() for c in line.strip("|").split("|")])
    return out


def num(s):
    """The number a cell starts with, or None."""
    try:
        return float(s.split()[0])
    except (ValueError, IndexError):
        return None
