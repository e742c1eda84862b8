"""Tables as text: one line per row, so every row is a quotable sentence.

When the first row is a header (every cell filled and short), each later row repeats the
header words (「项目：临时救助，标准：每人每次不超过3000元」): a resident's question names the
header words, and a quote must stand on its own.
"""

from __future__ import annotations

#: A header cell is at most this long (longer first-row cells are data).
HEADER_MAX_CHARS = 12


def table_lines(grid: list[list[str]]) -> list[str]:
    """Rows of cell texts -> lines; empty rows dropped, cells joined with 「，」.

    Args:
        grid: rows of cell strings (ragged rows allowed).

    Returns:
        One string per non-empty row; a header row is folded into the rows below it.
    """
    grid = [[c.strip() for c in row] for row in grid if any(c.strip() for c in row)]
    if not grid:
        return []
    header = grid[0]
    if len(grid) >= 2 and len(header) >= 2 and all(header) and all(len(h) <= HEADER_MAX_CHARS for h in header):
        lines = []
        for row in grid[1:]:
            pairs = [f"{h}：{c}" for h, c in zip(header, row) if c]
            pairs += [c for c in row[len(header):] if c]
            lines.append("，".join(pairs))
        return lines
    return ["，".join(c for c in row if c) for row in grid]
