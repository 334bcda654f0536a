#!/bin/bash
# Runs under one bench lock hold: mixed pairs and profiles. Output dir $1.
out=$1; mkdir -p $out
run() { # tree label extra-args
  local tree=$1 label=$2; shift 2
  echo "== $label $(date -u +%H:%M:%S) $(uptime)" >> $out/log.txt
  (cd $tree && node --import tsx bench/run.ts mixed "$@" > $out/$label.out 2>&1)
  ls -t $tree/bench/results/mixed-*.json | head -1 | xargs -I{} mv {} $out/$label.json
  (cd $tree && git checkout -q bench/results/SUMMARY.md bench/results/chart.svg 2>/dev/null)
  echo "   end $(date -u +%H:%M:%S) $(uptime)" >> $out/log.txt
}
wcpu() { # tree label
  local tree=$1 label=$2
  echo "== $label $(date -u +%H:%M:%S) $(uptime)" >> $out/log.txt
  (cd $tree && node --import tsx bench/run.ts read-cpu --only writes > $out/$label.out 2>&1)
  ls -t $tree/bench/results/read-cpu-*.json | head -1 | xargs -I{} mv {} $out/$label.json
  (cd $tree && git checkout -q bench/results/SUMMARY.md bench/results/chart.svg 2>/dev/null)
  echo "   end $(date -u +%H:%M:%S) $(uptime)" >> $out/log.txt
}
M=/work/wt/mixedw; B=/work/wt/base-mixedw-main; O=/work/wt/base-mixedw
late() { [ $(date -u +%H%M) -ge 1058 ] && echo "skipped $1: too late $(date -u +%H:%M)" >> $out/log.txt; }
late a || wcpu $M wcpu-mine-1
late b || wcpu $O wcpu-base14d-1
late c || run $M mine-1 --rates 0,20,200 --duration 5
late d || run $O base14d-1 --rates 0,20,200 --duration 5
late e || run $M mine-prof --rates 200 --duration 5 --profile $out/prof-mine
late f || run $O base14d-2 --rates 0,20,200 --duration 5
late g || run $M mine-2 --rates 0,20,200 --duration 5
