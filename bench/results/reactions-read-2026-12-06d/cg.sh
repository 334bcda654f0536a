#!/bin/bash
spec=$1; which=$2
names=$(WHICH=$which N=1 node -e "import('$spec').then(m=>console.log(m.default.variants.map(v=>v.name).join('\n')))")
while IFS= read -r n; do
  [ -n "$ONLYRE" ] && ! [[ "$n" =~ $ONLYRE ]] && continue
  CG=1 WHICH=$which ONLY="$n" N=1000 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/ownreact/cg-tmp.out node /tmp/ownreact/micro.mjs $spec >/tmp/ownreact/cg-tmp.log 2>&1
  tot=$(grep "Collected" /tmp/ownreact/cg-tmp.log | awk "{print \$4}")
  echo "$(printf '%-14s' "$n") $(( tot / 1000 )) instr/call   $(grep rows= /tmp/ownreact/cg-tmp.log | sed 's/.*rows/rows/')"
done <<< "$names"
