#!/bin/bash
cd /work/wt/layout-snap
B=/work/wt/base-start; L=/work/wt/layout-snap
run() { # name tree extra...
  local name=$1 tree=$2; shift 2
  echo "# $(date -u +%T) $(uptime | sed 's/.*load/load/') $name"
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/layout/cg-$name.out node --import tsx bench/read-instr.ts --tree $tree --callgrind --reads 300 --warm 1500 --kind flat "$@" 2>/tmp/layout/cg-$name.err
  callgrind_annotate /tmp/layout/cg-$name.out 2>/dev/null | grep -m1 "PROGRAM TOTALS"
}
run base $B --inline
run runs18 $L --layout '{"sealRows":1700,"runsPerMerge":100,"rowsPerFeed":0}'
run steady $L --inline
