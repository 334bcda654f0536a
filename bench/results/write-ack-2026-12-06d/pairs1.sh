#!/bin/bash
# One bench-lock hold: callgrind counts of a write (main and writer threads), then thread-CPU
# pairs (inject and real HTTP), read-cpu --only writes pairs, a mixed pair, a saturation pair.
# Base: /work/wt/base-start (the session's start). Mine: /work/wt/writeack.
OUT=/work/wt/writeack/bench/results/write-ack-2026-12-06d
S=$OUT/write-instr.mts
B=/work/wt/base-start
M=/work/wt/writeack-land
log() { echo "$(date -u +%T) $(uptime | sed 's/.*load/load/') $*" | tee -a $OUT/pair-log.txt; }
cg() { # tree tag kind [--http]
  cd $1; log "callgrind $2"
  valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes --callgrind-out-file=/tmp/wa-cg/$2.out \
    node --import tsx $S --tree $1 --callgrind --kind $3 --writes 200 --warm 200 $4 > $OUT/cg-$2.json 2>/tmp/wa-cg/$2.err
  log "done $2 $(cat $OUT/cg-$2.json)"
}
cg $B base-reaction reaction
cg $M mine-reaction reaction
cg $M mine-post post
cg $B base-post post
cg $B base-reaction-http reaction --http
cg $M mine-reaction-http reaction --http
for pair in "$B base" "$M mine" "$M mine" "$B base"; do set -- $pair
  cd $1
  for k in reaction post; do for h in "" "--http"; do [ "$k$h" = "post--http" ] && continue
    log "cpu $2 $k $h"; node --import tsx $S --tree $1 --kind $k --writes 600 --warm 300 $h >> $OUT/cpu-$2.jsonl 2>&1; tail -1 $OUT/cpu-$2.jsonl | tee -a $OUT/pair-log.txt
  done; done
done
log "part 1 done"
