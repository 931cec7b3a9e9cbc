#!/usr/bin/env bash
# The demo as a new user meets it: a fresh clone of this repository's HEAD, an empty NuGet cache (a new HOME), then
# `./adapt demo`. Prints the wall time of each step (clone, restore, build, the demo) and where the demo's seconds
# went (scripts/demo-timing.py). Usage: scripts/demo-fresh-clone.sh [WORKDIR] [-- extra demo arguments]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$(mktemp -d /tmp/demo-fresh.XXXXXX)}"
shift $(( $# > 0 ? 1 : 0 ))
[ "${1:-}" = "--" ] && shift
mkdir -p "$work"
export HOME="$work/home"
mkdir -p "$HOME"
unset NUGET_PACKAGES
now() { date +%s.%N; }
step() { printf '%-28s %7.1f s\n' "$1" "$(echo "$3 - $2" | bc)"; }

t0=$(now)
git clone -q "$repo" "$work/repo"
t1=$(now)
cd "$work/repo"
dotnet restore src/AdaptSharp.Cli/AdaptSharp.Cli.csproj -nologo -v q >/dev/null
t2=$(now)
# ./adapt builds on first use (its own dotnet build, whose restore is a no-op now); building here through it only splits
# the time, the sum is what ./adapt demo takes.
./adapt --version >/dev/null
t3=$(now)
./adapt demo "$@" > "$work/demo.log" 2>&1
t4=$(now)

echo "fresh clone of $(git rev-parse --short HEAD), HOME=$HOME (empty NuGet cache), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
step "git clone" "$t0" "$t1"
step "dotnet restore (empty cache)" "$t1" "$t2"
step "dotnet build (Release)" "$t2" "$t3"
step "./adapt demo" "$t3" "$t4"
step "total" "$t0" "$t4"
python3 "$repo/scripts/demo-timing.py" "$work/repo/demo-out"
