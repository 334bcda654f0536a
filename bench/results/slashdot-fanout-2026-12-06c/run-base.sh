#!/bin/bash
# The Slashdot / wiki-Vote fan-out rows of one tree, in one hold of the bench lock.
# usage: run-base.sh <tree> <out.log>   (run from the tree holding these bench scripts)
T=$1; OUT=$2
{
  echo "== start $(date -u +%H:%M:%S) tree $T $(git -C $T rev-parse --short HEAD)"; uptime
  for g in wiki-vote slashdot; do echo "-- writer-cpu $g"; node --import tsx bench/writer-cpu.ts --tree $T --graph $g; uptime; done
  for g in wiki-vote slashdot; do echo "-- e2e-ack $g"; node --import tsx bench/e2e-ack.ts --tree $T --graph $g --reps 2 2>&1 | grep '^{'; uptime; done
  for g in wiki-vote slashdot; do echo "-- queued-ack --drain $g"; node --import tsx bench/queued-ack.ts --tree $T --graph $g --reps 2 --drain 2>&1 | grep '^{'; uptime; done
  for g in wiki-vote slashdot; do echo "-- writer-cpu $g"; node --import tsx bench/writer-cpu.ts --tree $T --graph $g; uptime; done
  echo "== end $(date -u +%H:%M:%S)"
} > $OUT 2>&1
