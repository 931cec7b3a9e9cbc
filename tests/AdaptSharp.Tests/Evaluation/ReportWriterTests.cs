using AdaptSharp.Evaluation;

namespace AdaptSharp.Tests.Evaluation;

public class ReportWriterTests
{
    [Fact]
    public void WritesJsonFlagsMarkdownAndPlots()
    {
        using var model = EvaluationFixtures.PromptedModel();
        var (images, labels) = EvaluationFixtures.Data(model, 12);
        var options = EvaluationFixtures.Options("clean", "fgsm", "pgd5") with { EpsSweep = [0.0, 0.1] };
        var result = new RobustnessEvaluator(model, options).Run(images, labels);
        var dir = EvaluationFixtures.TempDirectory();
        try
        {
            ReportWriter.WriteAll(dir, result);
            var loaded = ReportWriter.TryLoad(dir)!;
            Assert.Equal(result.Flags.Values, loaded.Flags.Values);
            Assert.Equal((12, 5), (loaded.Flags.Points, loaded.Report.Attacks.Count));
            Assert.Equal(result.Report.Attacks, loaded.Report.Attacks);

            var md = File.ReadAllText(Path.Combine(dir, ReportWriter.MarkdownFile));
            Assert.Contains("| attack | source | robust accuracy | cumulative |", md);
            Assert.Contains("| pgd5 | agnostic (f_0) |", md);
            Assert.Contains("## Gradient-masking checklist", md);
            Assert.Contains("## Adaptive vs prompt-agnostic", md);
            Assert.Contains("| fgsm |", md);
            foreach (var title in MaskingChecklist.Titles)
                Assert.Contains(title, md);
            Assert.Contains("not run", md); // check 3: no black-box attack
            Assert.Contains(ReportWriter.EpsCurveFile, md);

            foreach (var png in new[] { ReportWriter.BarChartFile, ReportWriter.EpsCurveFile })
            {
                var bytes = File.ReadAllBytes(Path.Combine(dir, png));
                Assert.True(bytes.Length > 1000);
                Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, bytes[..4]);
            }
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
            Assert.Null(ReportWriter.TryLoad(Path.Combine(dir, "missing")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
