using AdaptSharp.Fuzzing;

namespace AdaptSharp.Tests.Fuzz;

/// <summary>
/// Every input the fuzz campaign (or its review) found breaking a reader's contract, kept minimal under
/// Fuzz/regressions/READER/: each must now be parsed or refused with a one-line typed error naming the file.
/// </summary>
public class FuzzRegressionTests
{
    private static string Regressions()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "AdaptSharp.sln")))
            dir = Path.GetDirectoryName(dir);
        return Path.Combine(dir ?? throw new InvalidOperationException("repository root not found"), "tests", "AdaptSharp.Tests", "Fuzz", "regressions");
    }

    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var folder in Directory.GetDirectories(Regressions()).Order(StringComparer.Ordinal))
            foreach (var file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
                data.Add(Path.GetFileName(folder), Path.GetFileName(file));
        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void RegressionInputIsParsedOrRefusedWithAOneLineErrorNamingTheFile(string target, string file)
    {
        var bytes = File.ReadAllBytes(Path.Combine(Regressions(), target, file));
        var folder = Directory.CreateTempSubdirectory("adapt-fuzz-regression-").FullName;
        try
        {
            FuzzContract.Check(FuzzTargets.Get(target), bytes, folder);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void EveryReaderHasItsRegressionFolderOrNoneAndEveryFolderIsAReader()
    {
        foreach (var folder in Directory.GetDirectories(Regressions()))
            Assert.Contains(Path.GetFileName(folder), FuzzTargets.All.Select(t => t.Name));
    }
}
