#!/bin/sh
# Installs what is missing, builds twinprompt and runs its demo on
# Fashion-MNIST (50% symmetric noise, cross-entropy then the twin method).
set -e
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec ./build/twinprompt -f demo/demo.tp
