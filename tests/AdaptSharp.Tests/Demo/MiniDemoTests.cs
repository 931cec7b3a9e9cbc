using System.Text.Json;
using AdaptSharp.Checkpoints;
using AdaptSharp.Demo;
using AdaptSharp.Tests.Data;

namespace AdaptSharp.Tests.Demo;

/// <summary>A miniature demo end to end on the real Fashion-MNIST and the shipped backbone: structure and invariants, not accuracy.</summary>
public class MiniDemoTests
{
    [FashionMnistFact]
    public void MiniDemoWritesAConsistentReport()
    {
        var outDir = Directory.CreateTempSubdirectory("adapt-demo-").FullName;
        try
        {
            var exit = AdaptSharp.Cli.Program.Main(["demo", "--plan", "mini", "--out", outDir, "--device", "cpu"]);
            Assert.Equal(0, exit);
            var markdown = File.ReadAllText(Path.Combine(outDir, DemoReport.MarkdownFile));
            Assert.Contains("| method | trained params |", markdown);
            Assert.Contains("Gradient-masking checklist", markdown);
            Assert.True(new FileInfo(Path.Combine(outDir, DemoReport.PlotFile)).Length > 1000);

            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, DemoReport.JsonFile)));
            var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal(["natural", "at", "adapt-ce"], rows.Select(r => r.GetProperty("method").GetString()));
            var backboneBytes = json.RootElement.GetProperty("backbone_bytes").GetInt64();
            foreach (var r in rows)
            {
                double Get(string name) => r.GetProperty(JsonNamingPolicy.SnakeCaseLower.ConvertName(name)).GetDouble();
                Assert.InRange(Get("Clean"), 0, 1);
                // Robust accuracy never exceeds clean accuracy; the worst case over AutoAttack's cascade likewise.
                Assert.True(Get("PgdAdaptive") <= Get("Clean") + 1e-9);
                Assert.True(Get("PgdAgnostic") <= Get("Clean") + 1e-9);
                Assert.InRange(Get("AutoAttack"), 0, 1);
                Assert.InRange(Get("TrainablePercent"), 0.1, 5);
                var promptFile = r.GetProperty("prompt_file_bytes").GetInt64();
                Assert.True(promptFile > 0 && promptFile < backboneBytes / 10, "a prompt file must be a small fraction of the backbone");
                var file = Path.Combine(outDir, "prompts", r.GetProperty("method").GetString() + ".safetensors");
                var info = PromptFile.ReadInfo(file);
                Assert.Equal(BackboneFingerprint.OfFile(json.RootElement.GetProperty("backbone").GetString()!), info.BackboneFingerprint);
            }

            // A second run reuses every artifact and gives the same table.
            Assert.Equal(0, AdaptSharp.Cli.Program.Main(["demo", "--plan", "mini", "--out", outDir, "--device", "cpu"]));
            using var again = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, DemoReport.JsonFile)));
            Assert.Equal(
                rows.Select(r => r.GetProperty("pgd_adaptive").GetDouble()),
                again.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("pgd_adaptive").GetDouble()));
            // ... and reports the training time the reused tunings took when they ran, not this run's zero.
            Assert.Equal(
                rows.Select(r => r.GetProperty("train_seconds").GetDouble()),
                again.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("train_seconds").GetDouble()));
            Assert.All(rows, r => Assert.True(r.GetProperty("train_seconds").GetDouble() > 0));
            Assert.Contains("reused from earlier runs in this folder: natural, at, adapt-ce", File.ReadAllText(Path.Combine(outDir, DemoReport.MarkdownFile)));
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }
}
