#!/bin/bash
set -u
export RIVULET_DATASETS=/work/shared/datasets
OUT=/tmp/mixedw/pairs; mkdir -p $OUT
n=10
for t in mine base; do
  n=$((n+1)); dir=/tmp/mixedw/base; [ $t = mine ] && dir=/tmp/mixedw/mine
  { echo "== $n reads $t $(date -u +%T)"; uptime; } >> $OUT/log.txt
  (cd $dir && node --import tsx bench/run.ts read-cpu --only reads --reads 1000) > $OUT/rcpu-$n-$t.out 2>&1
  { uptime; grep -E "flat:|enriched:" $OUT/rcpu-$n-$t.out; } >> $OUT/log.txt
done
echo "== reads done $(date -u +%T)" >> $OUT/log.txt
