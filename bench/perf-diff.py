#!/usr/bin/env python3
"""bench/perf-diff.py A.txt B.txt US_A US_B [N]: where two profiles of the server differ, in µs per
forwarded packet. A.txt and B.txt are `perf script` output of `perf record -e cpu-clock --call-graph=dwarf
-p SERVER` over the same scenario (e.g. two builds); US_A and US_B their CPU µs per forwarded packet
(bench/steady-cpu.sh or the bench's report). Each function's share of the samples (inclusive: on the
stack; self: at the top) times the µs gives its cost per forwarded packet; the N largest differences are
printed, B minus A."""
import collections,sys,re
def load(f):
    stacks=[];cur=None
    for l in open(f):
        if not l.strip():
            if cur is not None: stacks.append(cur); cur=None
            continue
        if not l.startswith('\t') and not l.startswith(' '):
            cur=[]; continue
        p=l.strip().split(None,1)
        if len(p)<2: continue
        sym=re.sub(r'\+0x[0-9a-f]+ .*','',p[1]); sym=sym.split(' (')[0]
        cur.append(sym)
    if cur: stacks.append(cur)
    return stacks
A=load(sys.argv[1]); B=load(sys.argv[2]); ua=float(sys.argv[3]); ub=float(sys.argv[4])
def incl(S):
    c=collections.Counter()
    for s in S:
        for f in set(s): c[f]+=1
    return c
def selfc(S):
    c=collections.Counter()
    for s in S:
        if s: c[s[0]]+=1
    return c
for name,fn in (('inclusive',incl),('self',selfc)):
    ca=fn(A); cb=fn(B)
    rows=[]
    for k in set(ca)|set(cb):
        a=ua*ca[k]/len(A); b=ub*cb[k]/len(B)
        rows.append((b-a,k,a,b))
    rows.sort(reverse=True)
    print("==",name,"(us per fwd pkt: before -> now, delta)")
    for d,k,a,b in rows[:int(sys.argv[5]) if len(sys.argv)>5 else 30]:
        print(f"{d:+.3f}  {a:.3f} -> {b:.3f}  {k}")
