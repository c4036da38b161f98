# Sourced by the device scripts: installs the wheels of .whl (packages the GPU device's image
# lacks; `carry` them) under /tmp/site and reactbench itself (editable), and sets the
# environment the runs share (REACTBENCH_CACHE=/tmp/rbcache, unbuffered output).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 REACTBENCH_CACHE=/tmp/rbcache
python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . || exit 1
