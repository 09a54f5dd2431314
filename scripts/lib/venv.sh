# Sourced by ./run, ./test and the sweep scripts: make sure the project-local virtual
# environment exists and holds the pinned requirements, then export PYTHON.
#   usage: source scripts/lib/venv.sh REPO_ROOT REQUIREMENTS_FILE
# Idempotent: a stamp named after the requirements' content hash records a finished
# install, so later calls cost one sha256sum. SER_VENV moves the environment elsewhere.
_ser_root=$1
_ser_reqs=$_ser_root/$2
_ser_venv=${SER_VENV:-$_ser_root/.venv}
_ser_base_python=$(command -v python3.11 || command -v python3)
if [[ ! -x $_ser_venv/bin/python ]]; then
    echo "Creating the virtual environment $_ser_venv ..." >&2
    "$_ser_base_python" -m venv "$_ser_venv" || return 1
fi
# The stamp covers every requirements file, since requirements-test.txt includes the other.
_ser_hash=$(cat "$_ser_root"/requirements*.txt | sha256sum | cut -c1-16)
_ser_stamp=$_ser_venv/.installed-$(basename "$_ser_reqs" .txt)-$_ser_hash
if [[ ! -f $_ser_stamp ]]; then
    echo "Installing $(basename "$_ser_reqs") into $_ser_venv (first use only) ..." >&2
    "$_ser_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$_ser_reqs" || return 1
    touch "$_ser_stamp"
fi
export PYTHON=$_ser_venv/bin/python
unset _ser_root _ser_reqs _ser_venv _ser_base_python _ser_hash _ser_stamp
