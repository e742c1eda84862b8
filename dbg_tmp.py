import json, sys
from pathlib import Path
from app.settings import Settings
from app.runtime import open_runtime
from app.evaluate import _expected
rt = open_runtime(Settings.from_env(), db_path=Path('/tmp/res-f.db'))
svc = rt.service
for path in sys.argv[1:]:
    hedged_right = hedged_wrong = 0
    for line in open(path, encoding='utf-8'):
        row = json.loads(line)
        if row.get('split') == 'holdout':
            continue
        a = svc.answer(row['question'])
        if a.kind == 'passage' and a.hedge:
            ok = row['scope'] == 'in' and _expected(row, rt.replies.text(a))
            hedged_right += ok; hedged_wrong += not ok
            print(' ', 'RIGHT' if ok else 'WRONG', round(a.confidence, 3), row['question'][:40])
    print(path, 'hedged right', hedged_right, 'hedged wrong', hedged_wrong)
