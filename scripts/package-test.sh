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

echo "package-test: dotnet tool install --tool-path T --add-source FEED AdaptSharp.Tool --version $version"
dotnet tool install --tool-path "$work/tool" --add-source "$feed" AdaptSharp.Tool --version "$version"
info="$("$work/tool/adapt" info --model vit-base-patch16 --prompt-layout deep:25 --train head,patch --classes 10)"
echo "$info"
grep -q "trainable: 828,682 of" <<<"$info" || { echo "package-test: installed adapt info did not report 828,682 trainable" >&2; exit 1; }

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
build="$(cd "$app" && dotnet build -c Release -nologo -p:AdaptSharpVersion="$version" 2>&1)" || { echo "$build" >&2; echo "package-test: consumer project did not build" >&2; exit 1; }
# The package's buildTransitive targets (nothing else here) must have patched the consumer's copy of the library.
grep "Marked GLIBCXX_3.4.32 weak" <<<"$build" || { echo "$build" >&2; echo "package-test: the package's GLIBCXX fix did not run in the consumer" >&2; exit 1; }
out="$(cd "$app" && dotnet run -c Release --no-build -p:AdaptSharpVersion="$version" 2>&1)" || { echo "$out" >&2; echo "package-test: consumer project failed" >&2; exit 1; }
echo "$out"
grep -q "trainable: 828,682 of" <<<"$out" && grep -q "logits: \[2, 10\], finite: True" <<<"$out" \
  || { echo "package-test: consumer project printed something unexpected" >&2; exit 1; }
echo "package-test: passed"
