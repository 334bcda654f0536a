#!/bin/bash
while ! grep -q "ALL DONE" /tmp/qw/log; do sleep 5; done
B=/work/wt/base-8cc; A=/work/wt/after; O=/tmp/qw
cg() { local name=$1 dir=$2; shift 2
  echo "== $name $(date +%T) $(uptime)" >> $O/log
  (cd $dir && timeout 900 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$O/$name.cg node --import tsx bench/read-instr.ts --callgrind --reads 300 --warm 1500 "$@" > $O/$name.out 2>&1)
  echo "   end $(date +%T) rc=$? $(uptime)" >> $O/log
}
cg cg-flat-base $B --kind flat
cg cg-flat-after $A --kind flat
cg cg-enr0-base $B --kind enriched --parts-mb 0
cg cg-enr0-after $A --kind enriched --parts-mb 0
cg cg-enr-base $B --kind enriched
cg cg-enr-after $A --kind enriched
echo "ALL2 DONE $(date +%T)" >> $O/log
