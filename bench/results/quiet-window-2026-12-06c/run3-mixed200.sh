#!/bin/bash
while ! grep -q "ALL2 DONE" /tmp/qw/log; do sleep 3; done
O=/tmp/qw
run() { local name=$1 dir=$2; shift 2
  echo "== $name $(date +%T) $(uptime)" >> $O/log
  (cd $dir && timeout 600 node --import tsx bench/run.ts mixed --rates 200 --duration 5 "$@" > $O/$name.out 2>&1)
  echo "   end $(date +%T) rc=$? $(uptime)" >> $O/log
}
run m200-base /work/wt/base-8cc
run m200-after /work/wt/after --no-settle
run m200-noke /work/wt/noke --no-settle
run m200-basenb /work/wt/basenb --no-settle
run m200-noke2 /work/wt/noke --no-settle
run m200-after2 /work/wt/after --no-settle
run m200-base2 /work/wt/base-8cc
echo "ALL3 DONE $(date +%T)" >> $O/log
