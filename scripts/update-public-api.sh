#!/usr/bin/env bash
# Rewrites src/AdaptSharp/PublicAPI.Unshipped.txt from the code (Microsoft.CodeAnalysis.PublicApiAnalyzers' RS0016/RS0017
# fixes), after a deliberate change of the public surface. Review the diff: every line is a public promise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dotnet format analyzers src/AdaptSharp/AdaptSharp.csproj --diagnostics RS0016 RS0017 RS0037 --severity warn -v q
git --no-pager diff --stat -- src/AdaptSharp/PublicAPI.Unshipped.txt
