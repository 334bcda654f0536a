#!/bin/bash
cd /work/wt/layout
P=/work/wt/layout-probe
for spec in "base" "walcp PROBE_WALCP=40000" "mmap PROBE_MMAP=1073741824" "base2"; do
  set -- $spec
  echo "# $(date -u +%T) $(uptime | sed 's/.*load/load/') $1 $2"
  env $2 node --import tsx bench/queued-ack.ts --tree $P --graph slashdot --drain --reps 2
done
