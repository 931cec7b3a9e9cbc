using AdaptSharp.Fuzzing;

namespace AdaptSharp.Tests.Fuzz;

/// <summary>
/// The deterministic slice of the fuzz campaign (docs/reliability.md, section 3): a fixed CsCheck seed and a few
/// thousand mutated inputs per reader. The full campaign (10^5 inputs per reader) is
/// <c>dotnet run -c Release --project bench/AdaptSharp.Bench -- fuzz</c>.
/// </summary>
public class FuzzSliceTests
{
    public static TheoryData<string> Targets() => new(FuzzTargets.All.Select(t => t.Name));

    [Theory]
    [MemberData(nameof(Targets))]
    public void EveryMutatedInputIsParsedOrRefusedWithAOneLineErrorNamingTheFile(string target)
    {
        var result = FuzzCampaign.Run(FuzzTargets.Get(target), inputs: 2000, seed: "0000000000Fz");
        Assert.True(result.Failures == 0, $"{result.FirstFailure} (smallest failing input: {result.SmallestFailingInput?.Length} bytes)");
        Assert.Equal(2000, result.Executions);
    }

    [Fact]
    public void SeedsAreValidInputs()
    {
        foreach (var target in FuzzTargets.All)
            foreach (var seed in target.Seeds)
            {
                var folder = Directory.CreateTempSubdirectory("adapt-fuzz-seed-").FullName;
                try
                {
                    File.WriteAllBytes(Path.Combine(folder, target.FileName), seed);
                    target.Parse(Path.Combine(folder, target.FileName)); // throws if a seed is not valid
                }
                finally
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
    }
}
