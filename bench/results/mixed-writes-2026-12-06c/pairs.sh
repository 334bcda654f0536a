#!/bin/bash
# under the bench lock: read-cpu --only writes in base/mine interleaved, then one mixed pair
set -u
export RIVULET_DATASETS=/work/shared/datasets
OUT=/tmp/mixedw/pairs; mkdir -p $OUT
M=/tmp/mixedw/mine
rm -rf $M; mkdir -p $M
git -C /work/wt/mixedw rev-parse mixedw > $OUT/mine.commit
git -C /work/wt/mixedw archive mixedw | tar -x -C $M
cp -al /work/main/node_modules $M/node_modules
B=/tmp/mixedw/base
n=0
for t in base mine mine base; do
  n=$((n+1)); dir=$B; [ $t = mine ] && dir=$M
  { echo "== $n $t $(date -u +%T)"; uptime; } >> $OUT/log.txt
  (cd $dir && node --import tsx bench/run.ts read-cpu --only writes) > $OUT/wcpu-$n-$t.out 2>&1
  { uptime; grep -E "writes:" $OUT/wcpu-$n-$t.out; } >> $OUT/log.txt
done
if [ -z "${NOMIXED:-}" ]; then
for t in mine base; do
  n=$((n+1)); dir=$B; [ $t = mine ] && dir=$M
  { echo "== $n mixed $t $(date -u +%T)"; uptime; } >> $OUT/log.txt
  (cd $dir && node --import tsx bench/run.ts mixed --rates 0,20,200 --duration 5) > $OUT/mixed-$n-$t.out 2>&1
  cp $(ls -t $dir/bench/results/mixed-*.json | head -1) $OUT/mixed-$n-$t.json 2>/dev/null
  { uptime; } >> $OUT/log.txt
done
fi
echo "== done $(date -u +%T)" >> $OUT/log.txt
