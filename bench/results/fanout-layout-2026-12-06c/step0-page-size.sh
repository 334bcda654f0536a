cd /tmp/layout-probe
export RIVULET_DATASETS=/work/shared/datasets
for ps in 4096 2048 1024 4096 2048 1024; do
  echo "== page_size $ps $(uptime)"
  PROBE_PAGE_SIZE=$ps node --import tsx bench/writer-cpu.ts --posts 2000
done
for ps in 4096 1024 2048; do
  echo "== slashdot page_size $ps $(uptime)"
  PROBE_PAGE_SIZE=$ps node --import tsx bench/writer-cpu.ts --posts 2000 --graph slashdot
done
for ps in 4096 1024 4096 1024; do
  echo "== read-instr flat page_size $ps $(uptime)"
  PROBE_PAGE_SIZE=$ps node --import tsx bench/read-instr.ts --kind flat --reads 2000 --warm 2000
done
echo "== end $(uptime)"
