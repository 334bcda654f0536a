#!/bin/bash
# quiet-window pairs: base-8cc vs after (614112f)
B=/work/wt/base-8cc; A=/work/wt/after; O=/tmp/qw
run() { # name dir args...
  local name=$1 dir=$2; shift 2
  echo "== $name $(date +%T) $(uptime)" >> $O/log
  (cd $dir && timeout 900 node --import tsx "$@" > $O/$name.out 2>&1)
  echo "   end $(date +%T) rc=$? $(uptime)" >> $O/log
}
run rc-reads-base1 $B bench/run.ts read-cpu --only reads
run rc-reads-after1 $A bench/run.ts read-cpu --only reads
run rc-reads-after2 $A bench/run.ts read-cpu --only reads
run rc-reads-base2 $B bench/run.ts read-cpu --only reads
run mixed-base1 $B bench/run.ts mixed --rates 0,20,200 --duration 5
run mixed-after1 $A bench/run.ts mixed --rates 0,20,200 --duration 5 --no-settle
run mixed-after2 $A bench/run.ts mixed --rates 0,20,200 --duration 5 --no-settle
run mixed-base2 $B bench/run.ts mixed --rates 0,20,200 --duration 5
run rc-writes-base1 $B bench/run.ts read-cpu --only writes
run rc-writes-after1 $A bench/run.ts read-cpu --only writes
run e2e-base1 $B bench/e2e-ack.ts --reps 2
run e2e-after1 $A bench/e2e-ack.ts --reps 2
echo "ALL DONE $(date +%T)" >> $O/log
