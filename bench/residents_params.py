"""Write the ``residents`` block of qa/params.json (issue 11: resident language).

The numbers are set by judgement on the tune split of data/eval/residents.jsonl (the holdout
split is never looked at when choosing them); this script is the one place they are written,
deterministically, with their provenance (the data file's sha256). ``bench/calibrate.py
--write`` keeps this block as it finds it.

    python3 bench/residents_params.py            # print the block
    python3 bench/residents_params.py --write    # rewrite it in qa/params.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "qa" / "params.json"
DATA = "data/eval/residents.jsonl"

#: (value, why). Score units are those of the ranking block (a full coverage match is ~1-3).
VALUES = {
    "expansion_credit": (0.8, "a lexicon synonym is good evidence, but the resident's own word in a sentence is better"),
    "approx_bonus": (0.6, "enough to reorder near-ties (2652人 over 7248人 for 两千多人), too little to lift a weak match"),
    "approx_window": (1.5, "only candidates already close to the best compete for the number hint"),
    "max_citations": (3, "issue 11: quote every sentence that carries a part, up to three"),
    "part_window": (2.0, "a part-carrying sentence must score within this of the best to be quoted as well"),
}


def block() -> dict:
    """The residents block with its provenance."""
    digest = hashlib.sha256((ROOT / DATA).read_bytes()).hexdigest()
    out = {key: value for key, (value, _) in VALUES.items()}
    out["source"] = {"script": "bench/residents_params.py",
                     "method": "set by judgement on the tune split (see VALUES in the script for each reason)",
                     "data": {DATA: digest}, "seed": None}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the block in qa/params.json")
    args = parser.parse_args()
    if not args.write:
        print(json.dumps(block(), ensure_ascii=False, indent=2))
        return
    doc = json.loads(PARAMS.read_text(encoding="utf-8"))
    doc["blocks"]["residents"] = block()
    PARAMS.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote blocks.residents to {PARAMS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
