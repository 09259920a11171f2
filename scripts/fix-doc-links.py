#!/usr/bin/env python3
"""Re-points [`code`](path#Lnn) links in docs/*.md at the nearest line that contains `code`.
Run after moving code; the docs link test (docs/test/api-coverage.test.ts) says when it is needed."""
import glob, os, re, sys
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pat = re.compile(r'\[`([^`]+)`\]\(([^)#]+)#L(\d+)\)')
changed = 0
for md in glob.glob(os.path.join(root, 'docs', '*.md')) + glob.glob(os.path.join(root, 'packages', '*', 'README.md')):
    text = open(md).read()
    def fix(m):
        global changed
        code, rel, line = m.group(1), m.group(2), int(m.group(3))
        src = os.path.normpath(os.path.join(os.path.dirname(md), rel))
        if not os.path.exists(src):
            return m.group(0)
        lines = open(src).read().split('\n')
        if 0 < line <= len(lines) and code in lines[line - 1]:
            return m.group(0)
        hits = [i + 1 for i, l in enumerate(lines) if code in l]
        if not hits:
            print(f'{os.path.relpath(md, root)}: `{code}` not found in {rel}', file=sys.stderr)
            return m.group(0)
        best = min(hits, key=lambda h: abs(h - line))
        changed += 1
        return f'[`{code}`]({rel}#L{best})'
    new = pat.sub(fix, text)
    if new != text:
        open(md, 'w').write(new)
print(f'{changed} links re-pointed')
