#!/bin/bash
# quiet-window pairs: base-start (4be463b) vs main
B=/work/wt/base-start; M=/work/wt/qmain; O=/work/qw
run() { # name dir cmd...
  local name=$1 dir=$2; shift 2
  echo "### $name $(date +%T) $(uptime | sed 's/.*load/load/')" >> $O/log.txt
  (cd $dir && "$@") > $O/$name.log 2>&1
  echo "    rc=$? $(date +%T)" >> $O/log.txt
}
run e2e-main-1 $M node --import tsx bench/e2e-ack.ts --reps 2
run e2e-base-1 $B node --import tsx bench/e2e-ack.ts --reps 2
run mixed-base-1 $B node --import tsx bench/run.ts mixed --rates 0,20,200 --duration 5
run mixed-main-1 $M node --import tsx bench/run.ts mixed --rates 0,20,200 --duration 5
run writes-main-1 $M node --import tsx bench/run.ts read-cpu --only writes
run writes-base-1 $B node --import tsx bench/run.ts read-cpu --only writes
run mixed-main-2 $M node --import tsx bench/run.ts mixed --rates 0,20,200 --duration 5
run mixed-base-2 $B node --import tsx bench/run.ts mixed --rates 0,20,200 --duration 5
run sat-base-1 $B node --import tsx bench/saturation.ts --connections 50
run sat-main-1 $M node --import tsx bench/saturation.ts --connections 50
run writes-base-2 $B node --import tsx bench/run.ts read-cpu --only writes
run writes-main-2 $M node --import tsx bench/run.ts read-cpu --only writes
run e2e-base-2 $B node --import tsx bench/e2e-ack.ts --reps 2
run e2e-main-2 $M node --import tsx bench/e2e-ack.ts --reps 2
echo done >> $O/log.txt
