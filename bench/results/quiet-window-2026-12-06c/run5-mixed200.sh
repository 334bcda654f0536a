#!/bin/bash
O=/tmp/qw
run() { local name=$1 dir=$2; shift 2
  echo "== $name $(date +%T) $(uptime)" >> $O/log
  (cd $dir && timeout 600 node --import tsx bench/run.ts mixed --rates 200 --duration 5 "$@" > $O/$name.out 2>&1)
  echo "   end $(date +%T) rc=$? $(uptime)" >> $O/log
}
run m5-after1 /work/wt/after --no-settle
run m5-base1 /work/wt/base-8cc
run m5-after2 /work/wt/after --no-settle
run m5-base2 /work/wt/base-8cc
run m5-after3 /work/wt/after --no-settle
run m5-base3 /work/wt/base-8cc
echo "ALL5 DONE $(date +%T)" >> $O/log
