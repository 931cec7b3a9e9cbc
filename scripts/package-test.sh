#!/usr/bin/env bash
# Packs AdaptSharp and AdaptSharp.Tool into a temporary feed, installs the tool from it and runs `adapt info`,
# then builds and runs a fresh console project that references the AdaptSharp package from the feed.
# A unique prerelease version keeps the NuGet cache from serving an older build of the same version.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work="$(mktemp -d)"
version="0.0.0-pkgtest.$(date +%Y%m%d%H%M%S).$$"
cleanup() {
  rm -rf "$work" "${NUGET_PACKAGES:-$HOME/.nuget/packages}"/{adaptsharp,adaptsharp.tool,adaptsharp.tool.linux-x64}/"$version"
}
trap cleanup EXIT
feed="$work/feed"
echo "package-test: dotnet pack -c Release -p:Version=$version -o $feed"
dotnet pack AdaptSharp.sln -c Release -nologo -v q -clp:ErrorsOnly -p:Version="$version" -o "$feed"
ls -l "$feed"
for id in AdaptSharp AdaptSharp.Tool AdaptSharp.Tool.linux-x64; do
  [ -f "$feed/$id.$version.nupkg" ] || { echo "package-test: $id.$version.nupkg was not produced" >&2; exit 1; }
done
# A build here references only Linux x64's libtorch; the library's package must still bring every platform's.
python3 -c 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read("AdaptSharp.nuspec").decode())' "$feed/AdaptSharp.$version.nupkg" | grep -q 'dependency id="TorchSharp-cpu"' \
  || { echo "package-test: the AdaptSharp package does not depend on TorchSharp-cpu" >&2; exit 1; }

echo "package-test: dotnet tool install --tool-path T --add-source FEED AdaptSharp.Tool --version $version"
dotnet tool install --tool-path "$work/tool" --add-source "$feed" AdaptSharp.Tool --version "$version"
info="$("$work/tool/adapt" info --model vit-base-patch16 --prompt-layout deep:25 --train head,patch --classes 10)"
echo "$info"
grep -q "trainable: 828,682 of" <<<"$info" || { echo "package-test: installed adapt info did not report 828,682 trainable" >&2; exit 1; }

# The installed tool (about 600 MB unpacked) is no longer needed: free the space before the consumer copies libtorch again.
rm -rf "$work/tool" "$feed"/AdaptSharp.Tool*.nupkg
fail() {
  # One line first (what failed), then only the tail of the tool output and the free space, so a CI log shows the cause.
  echo "package-test: $1" >&2
  [ -n "${2:-}" ] && { grep -E 'error|Error|ERROR' <<<"$2" | head -n 10 >&2 || true; tail -n 20 <<<"$2" >&2; }
  df -h "$work" >&2 || true
  exit 1
}

echo "package-test: fresh console project referencing AdaptSharp $version from the feed"
app="$work/consumer"
mkdir -p "$app"
cp scripts/package-consumer/PackageConsumer.csproj scripts/package-consumer/Program.cs "$app/"
# Outside this repository: none of its Directory.Build.* files apply; only the package's own build files do.
cat >"$app/Directory.Build.props" <<<'<Project />'
cat >"$app/Directory.Build.targets" <<<'<Project />'
cat >"$app/NuGet.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="adaptsharp-feed" value="$feed" />
  </packageSources>
</configuration>
XML
build="$(cd "$app" && dotnet build -c Release -nologo -p:AdaptSharpVersion="$version" 2>&1)" || fail "consumer project did not build" "$build"
# The package's buildTransitive targets (nothing else here) must have patched the consumer's copy of libLibTorchSharp:
# its GLIBCXX_3.4.32 need is marked weak (read from the ELF file itself, not from the build's log).
lib="$app/bin/Release/net10.0/runtimes/linux-x64/native/libLibTorchSharp.so"
[ -f "$lib" ] || fail "consumer output has no $lib" "$build"
if command -v readelf >/dev/null 2>&1; then
  readelf -V "$lib" | grep -E 'Name: GLIBCXX_3\.4\.32 +Flags: WEAK' || fail "GLIBCXX_3.4.32 is not marked weak in the consumer's copy" "$(readelf -V "$lib" | grep GLIBCXX_3.4.32)"
fi
out="$(cd "$app" && dotnet run -c Release --no-build -p:AdaptSharpVersion="$version" 2>&1)" || fail "consumer project failed" "$out"
echo "$out"
grep -q "trainable: 828,682 of" <<<"$out" && grep -q "logits: \[2, 10\], finite: True" <<<"$out" \
  || fail "consumer project printed something unexpected" "$out"
echo "package-test: passed"
