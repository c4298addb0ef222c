#!/bin/sh
# Installs the Debian packages twinprompt needs (as root; otherwise prints the
# apt-get line to run) and builds it in build/.  Used by demo.sh and test.sh.
set -e
cd "$(dirname "$0")/.."

PACKAGES="build-essential autoconf automake pkg-config libopenblas-dev libgsl-dev \
libcairo2-dev libncurses-dev libreadline-dev zlib1g-dev libsqlite3-dev libcjson-dev libpcre2-dev libutf8proc-dev libpng-dev libjpeg-dev dataset-fashion-mnist tmux fonts-dejavu-core poppler-utils"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "setup: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q
		apt-get install -y -q $missing
	else
		echo "setup: missing Debian packages:$missing" >&2
		echo "setup: run as root: apt-get update && apt-get install -y$missing" >&2
		exit 1
	fi
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	./autogen.sh >/dev/null
fi
mkdir -p build
cd build
if [ ! -f Makefile ] || [ ../configure -nt Makefile ]; then
	# configure's own clean-up tries to remove a file named "core" and
	# complains about the core/ folder, so its output goes to a log
	if ! ../configure --enable-werror >configure.log 2>&1; then
		tail -20 configure.log >&2
		exit 1
	fi
fi
make -j"$(nproc)" >/dev/null
echo "setup: built build/twinprompt"
