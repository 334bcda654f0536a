#!/bin/bash
cd /work/wt/layout
B=/work/wt/base-start; L=/work/wt/layout-snap
for spec in "$B wiki-vote" "$L wiki-vote" "$L slashdot" "$B slashdot"; do
  set -- $spec
  echo "# $(date -u +%T) $(uptime | sed 's/.*load/load/') tree=$1 graph=$2"
  node --import tsx bench/e2e-ack.ts --tree $1 --graph $2 --reps 2
done
