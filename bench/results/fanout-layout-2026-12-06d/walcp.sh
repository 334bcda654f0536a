#!/bin/bash
cd /work/wt/layout
P=/work/wt/layout-probe
r() { echo "# $(date -u +%T) $(uptime | sed 's/.*load/load/') $*"; }
r wcpu wiki walcp; PROBE_WALCP=40000 node --import tsx bench/writer-cpu.ts --tree $P --graph wiki-vote
r wcpu wiki base; node --import tsx bench/writer-cpu.ts --tree $P --graph wiki-vote
r drain wiki base; node --import tsx bench/queued-ack.ts --tree $P --graph wiki-vote --drain --reps 2
r drain wiki walcp; PROBE_WALCP=40000 node --import tsx bench/queued-ack.ts --tree $P --graph wiki-vote --drain --reps 2
r e2e slashdot walcp; PROBE_WALCP=40000 node --import tsx bench/e2e-ack.ts --tree $P --graph slashdot --reps 2
r e2e slashdot base; node --import tsx bench/e2e-ack.ts --tree $P --graph slashdot --reps 2
r e2e wiki base; node --import tsx bench/e2e-ack.ts --tree $P --graph wiki-vote --reps 2
r e2e wiki walcp; PROBE_WALCP=40000 node --import tsx bench/e2e-ack.ts --tree $P --graph wiki-vote --reps 2
