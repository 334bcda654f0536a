#!/bin/bash
# writer-cpu pairs, alternating order; run from the layout tree with --tree
cd /work/wt/layout
B=/work/wt/base-start; L=/work/wt/layout
for g in wiki-vote slashdot; do
  for spec in "$B inline" "$L inline" "$L thread" "$B thread"; do
    set -- $spec
    w=""; [ "$2" = inline ] && w="--writer inline"
    echo "# $(date -u +%T) $(uptime | sed 's/.*load/load/') tree=$1 graph=$g writer=$2"
    node --import tsx bench/writer-cpu.ts --tree $1 --graph $g $w
  done
done
