#!/bin/bash
while ! grep -q "ALL3 DONE" /tmp/qw/log; do sleep 3; done
O=/tmp/qw
run() { local name=$1 dir=$2; shift 2
  echo "== $name $(date +%T) $(uptime)" >> $O/log
  (cd $dir && timeout 600 node --import tsx bench/run.ts read-cpu --only writes > $O/$name.out 2>&1)
  echo "   end $(date +%T) rc=$? $(uptime)" >> $O/log
}
run w-noke1 /work/wt/noke
run w-after1 /work/wt/after
run w-base1 /work/wt/base-8cc
run w-noke2 /work/wt/noke
run w-after2 /work/wt/after
run w-base2 /work/wt/base-8cc
echo "ALL4 DONE $(date +%T)" >> $O/log
