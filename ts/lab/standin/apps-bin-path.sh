# Expand $PATH to include the directory where snappy applications go.
# (mko lab test double: the same profile script the Debian snapd package installs)
snap_bin_path="/snap/bin"
if [ -n "${PATH##*${snap_bin_path}}" ] && [ -n "${PATH##*${snap_bin_path}:*}" ]; then
    export PATH="$PATH:${snap_bin_path}"
fi
