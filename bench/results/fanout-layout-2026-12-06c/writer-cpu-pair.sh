export RIVULET_DATASETS=/work/shared/datasets
cd /tmp/layout-snap2
W="node --import tsx bench/writer-cpu.ts"
echo "== wiki base inline $(uptime)"; $W --tree /work/wt/base-8cc --posts 5000 --writer inline
echo "== wiki layout default inline $(uptime)"; $W --tree /tmp/layout-snap2 --posts 5000 --writer inline
echo "== slashdot base inline $(uptime)"; $W --tree /work/wt/base-8cc --posts 3000 --graph slashdot --writer inline
echo "== slashdot layout default inline $(uptime)"; $W --tree /tmp/layout-snap2 --posts 3000 --graph slashdot --writer inline
echo "== wiki layout 8x3 $(uptime)"; $W --tree /tmp/layout-snap2 --posts 5000 --layout '{"runsPerMerge":8,"finalLevel":3}'
echo "== end $(uptime)"
