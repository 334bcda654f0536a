#!/bin/bash
cd /work/wt/layout
B=/work/wt/base-start; L=/work/wt/layout-snap
for spec in "$L slashdot" "$B slashdot" "$B wiki-vote" "$L wiki-vote"; do
  set -- $spec
  echo "# $(date -u +%T) $(uptime | sed 's/.*load/load/') tree=$1 graph=$2"
  node --import tsx bench/queued-ack.ts --tree $1 --graph $2 --drain --reps 2
done
