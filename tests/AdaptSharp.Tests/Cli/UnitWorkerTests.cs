using AdaptSharp.Cli;

namespace AdaptSharp.Tests.Cli;

/// <summary>The worker process of the parallel demo: units in, one end line per unit and stream out, each with its exit code.</summary>
[Collection(SerialCollection.Name)]
public sealed class UnitWorkerTests
{
    [Fact]
    public void EveryUnitEndsWithItsExitCodeOnBothStreamsAndTheWorkerStopsAtTheEndOfItsInput()
    {
        var input = new StringReader(string.Join('\n',
            """["info", "--model", "vit-fmnist-cpu-d8", "--prompt-layout", "deep:4"]""",
            """["info", "--model", "vit-fmnist-cpu-d8", "--images", "0"]""",
            """["info", "--model", "vit-fmnist-cpu-d8"]""") + "\n");
        var output = new StringWriter();
        var error = new StringWriter();

        Assert.Equal(0, UnitWorker.Serve(input, output, error));

        foreach (var stream in new[] { output.ToString(), error.ToString() })
        {
            var codes = stream.Split('\n').Select(l => UnitWorker.ExitCodeOf(l.TrimEnd('\r'))).OfType<int>().ToList();
            Assert.Equal([0, CliRunner.UserError, 0], codes);
        }
    }

    [Fact]
    public void ALineThatIsNotAnArgumentListIsOneErrorLine()
    {
        var error = new StringWriter();
        Assert.Equal(CliRunner.UserError, UnitWorker.Serve(new StringReader("demo --plan mini\n"), new StringWriter(), error));
        Assert.Equal("adapt: --unit-worker: expected one JSON array of arguments per line, got: demo --plan mini", error.ToString().Trim());
    }

    [Theory]
    [InlineData("\u001eadapt-unit-done 143", 143)]
    [InlineData("adapt-unit-done 0", null)]
    [InlineData("\u001eadapt-unit-done x", null)]
    [InlineData("trainable: 4,426", null)]
    public void OnlyTheEndLineCarriesAnExitCode(string line, int? expected) => Assert.Equal(expected, UnitWorker.ExitCodeOf(line));
}
