export RIVULET_DATASETS=/work/shared/datasets
cd /tmp/layout-snap2
for r in 1 2; do
  echo "== read-instr flat base $(uptime)"; node --import tsx bench/read-instr.ts --kind flat --reads 2000 --warm 2000 --tree /work/wt/base-8cc
  echo "== read-instr flat layout $(uptime)"; node --import tsx bench/read-instr.ts --kind flat --reads 2000 --warm 2000 --tree /tmp/layout-snap2
done
echo "== end $(uptime)"
