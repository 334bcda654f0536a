#!/bin/bash
# Second bench-lock hold: read-cpu --only writes, mixed and saturation, one pair each (mine first).
# Base: /work/wt/base-start (the session's start). Mine: /work/wt/writeack-ack (3f1b577: the
# acknowledged marks, the batched own reactions, acknowledgements read ahead of the event loop).
OUT=/work/wt/writeack/bench/results/write-ack-2026-12-06d
B=/work/wt/base-start
M=/work/wt/writeack-ack
log() { echo "$(date -u +%T) $(uptime | sed 's/.*load/load/') $*" | tee -a $OUT/pair-log.txt; }
for pair in "$M mine" "$B base"; do set -- $pair
  cd $1; log "mixed $2"
  node --import tsx bench/run.ts mixed --rates 0,20,200 --duration 5 > $OUT/mixed-$2-$(date +%H%M%S).out 2>&1
  log "saturation $2"
  node --import tsx bench/saturation.ts --connections 50 --duration 5 > $OUT/saturation-$2-$(date +%H%M%S).out 2>&1
done

S=$OUT/write-instr.mts
for pair in "$B base" "$M mine" "$M mine" "$B base"; do set -- $pair
  cd $1; log "cpu $2 reaction --http"
  node --import tsx $S --tree $1 --kind reaction --writes 600 --warm 300 --http >> $OUT/cpu-http-$2.jsonl 2>&1; tail -1 $OUT/cpu-http-$2.jsonl | tee -a $OUT/pair-log.txt
done
log "http done"
for pair in "$M mine" "$B base"; do set -- $pair
  cd $1; log "read-cpu writes $2"
  node --import tsx bench/run.ts read-cpu --only writes > $OUT/readcpu-$2-$(date +%H%M%S).out 2>&1
  grep "writes:" $OUT/readcpu-$2-*.out | tail -2 | tee -a $OUT/pair-log.txt
done
log "all done"
