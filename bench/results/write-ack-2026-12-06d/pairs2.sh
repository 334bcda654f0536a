#!/bin/bash
# One bench-lock hold: callgrind counts of a write (main and writer threads), then thread-CPU
# pairs (inject and real HTTP), read-cpu --only writes pairs, a mixed pair, a saturation pair.
# Base: /work/wt/base-start (the session's start). Mine: /work/wt/writeack.
OUT=/work/wt/writeack/bench/results/write-ack-2026-12-06d
S=$OUT/write-instr.mts
B=/work/wt/base-start
M=/work/wt/writeack
log() { echo "$(date -u +%T) $(uptime | sed 's/.*load/load/') $*" | tee -a $OUT/pair-log.txt; }
cg() { # tree tag kind [--http]
  cd $1; log "callgrind $2"
  valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes --callgrind-out-file=/tmp/wa-cg/$2.out \
    node --import tsx $S --tree $1 --callgrind --kind $3 --writes 200 --warm 200 $4 > $OUT/cg-$2.json 2>/tmp/wa-cg/$2.err
  log "done $2 $(cat $OUT/cg-$2.json)"
}
for pair in "$B base" "$M mine" "$M mine" "$B base"; do set -- $pair
  cd $1; log "read-cpu writes $2"
  node --import tsx bench/run.ts read-cpu --only writes > $OUT/readcpu-$2-$(date +%H%M%S).out 2>&1
  grep "writes:" $OUT/readcpu-$2-*.out | tail -2 | tee -a $OUT/pair-log.txt
done
for pair in "$M mine" "$B base"; do set -- $pair
  cd $1; log "mixed $2"
  node --import tsx bench/run.ts mixed --rates 0,20,200 --duration 5 > $OUT/mixed-$2-$(date +%H%M%S).out 2>&1
  log "saturation $2"
  node --import tsx bench/saturation.ts --connections 50 --duration 5 > $OUT/saturation-$2-$(date +%H%M%S).out 2>&1
done
log "all done"
